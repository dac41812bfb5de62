#!/bin/sh
# Build the scenario's sites by hand, in one go (each Ansible task costs seconds on a busy machine):
# - alpha (live, our layout, 5 releases), bravo (live, Forge's layout, shared www pool);
# - oldshop: an orphan (vhost, pool, directory) that no site claims;
# - charlie: retired, quiet (per-site FPM unit, worker unit, cron entry, certificate + renewal);
# - delta: retired, with recent traffic in its access log (written by make_logs.py).
set -eu
OURS="alpha charlie delta"
install -d -o root -g root -m 0755 /srv/www && chown root:root /srv/www && chmod 0755 /srv/www

for s in $OURS oldshop; do
  getent group "$s" >/dev/null || groupadd "$s"
  getent passwd "$s" >/dev/null || useradd -M -g "$s" -d "/srv/www/$s" -s /usr/sbin/nologin "$s"
  usermod -a -G "$s" www-data
  install -d -o "$s" -g "$s" -m 0750 "/srv/www/$s"
done
getent passwd forge >/dev/null || useradd -m -d /home/forge -s /bin/bash forge
chmod 0755 /home/forge

release() {  # site release
  d="/srv/www/$1/releases/$2"
  install -d -o "$1" -g "$1" -m 0750 "$d" "$d/public"
  printf '<?php echo "%s ok %s\\n";\n' "$1" "$2" > "$d/public/index.php"
  cat > "$d/artisan" <<'EOF'
<?php
if (($argv[1] ?? '') === 'queue:work') { while (true) { sleep(5); } }
exit(0);
EOF
  chown -R "$1:$1" "$d"
  ln -sfn "releases/$2" "/srv/www/$1/current.new" && mv -T "/srv/www/$1/current.new" "/srv/www/$1/current"
}
for r in r20261101 r20261102 r20261103 r20261104 r20261105; do release alpha $r; done
release charlie r20260901
release delta r20260901
for s in $OURS; do
  install -d -o "$s" -g "$s" -m 0750 "/srv/www/$s/shared" "/srv/www/$s/shared/storage"
  echo "APP_NAME=$s" > "/srv/www/$s/shared/.env"
  chown "$s:$s" "/srv/www/$s/shared/.env"; chmod 0640 "/srv/www/$s/shared/.env"
done

install -d -o oldshop -g oldshop -m 0755 /srv/www/oldshop/public
echo '<?php echo "oldshop ok\n";' > /srv/www/oldshop/public/index.php
install -d -o forge -g forge -m 0755 /home/forge/bravo.test /home/forge/bravo.test/public
echo '<?php echo "bravo ok\n";' > /home/forge/bravo.test/public/index.php

cat > /etc/systemd/system/php-fpm-site@.service <<'EOF'
# Managed by Ansible (molecule/site_cleanup)
[Unit]
Description=PHP-FPM of site %i
After=network.target
[Service]
Type=notify
ExecStart=/usr/sbin/php-fpm8.2 --nodaemonize --fpm-config /etc/php/8.2/fpm/sites/%i.conf
ExecReload=/bin/kill -USR2 $MAINPID
RuntimeDirectory=php-fpm-sites
RuntimeDirectoryPreserve=yes
[Install]
WantedBy=multi-user.target
EOF
install -d /etc/php/8.2/fpm/sites
for s in $OURS; do
  cat > "/etc/php/8.2/fpm/sites/$s.conf" <<EOF
; Managed by Ansible (molecule/site_cleanup)
[global]
pid = /run/php-fpm-sites/$s.pid
error_log = /var/log/php-fpm-$s.log
[$s]
user = $s
group = $s
listen = /run/php-fpm-sites/$s.sock
listen.owner = $s
listen.group = www-data
listen.mode = 0660
pm = static
pm.max_children = 2
EOF
  cat > "/etc/nginx/sites-available/$s.conf" <<EOF
# Managed by Ansible (molecule/site_cleanup)
server {
    listen 80;
    server_name $s.test;
    root /srv/www/$s/current/public;
    index index.php;
    access_log /var/log/nginx/$s.access.log;
    error_log /var/log/nginx/$s.error.log;
    location / { try_files \$uri /index.php?\$query_string; }
    location ~ \.php\$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:/run/php-fpm-sites/$s.sock;
    }
}
EOF
  ln -sfn "/etc/nginx/sites-available/$s.conf" "/etc/nginx/sites-enabled/$s.conf"
done
cat > /etc/php/8.2/fpm/pool.d/oldshop.conf <<'EOF'
[oldshop]
user = oldshop
group = oldshop
listen = /run/php/oldshop.sock
listen.owner = www-data
listen.group = www-data
pm = static
pm.max_children = 1
EOF

forge_vhost() {  # file name root socket
  cat > "/etc/nginx/sites-available/$1" <<EOF
# FORGE CONFIG (DO NOT REMOVE!)
server {
    listen 80;
    server_name $2;
    root $3;
    index index.php;
    access_log /var/log/nginx/$2-access.log;
    location / { try_files \$uri /index.php?\$query_string; }
    location ~ \.php\$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:$4;
    }
}
EOF
  ln -sfn "/etc/nginx/sites-available/$1" "/etc/nginx/sites-enabled/$1"
}
forge_vhost bravo.test bravo.test /home/forge/bravo.test/public /run/php/php8.2-fpm.sock
forge_vhost oldshop.conf oldshop.test /srv/www/oldshop/public /run/php/oldshop.sock

# charlie: certificate (self-signed) with a certbot-style renewal configuration, served on 443.
install -d /etc/ssl/sites/charlie /etc/letsencrypt/live/charlie.test /etc/letsencrypt/archive/charlie.test /etc/letsencrypt/renewal
[ -f /etc/ssl/sites/charlie/fullchain.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=charlie.test \
  -keyout /etc/ssl/sites/charlie/privkey.pem -out /etc/ssl/sites/charlie/fullchain.pem 2>/dev/null
cp /etc/ssl/sites/charlie/fullchain.pem /etc/letsencrypt/archive/charlie.test/fullchain1.pem
cp /etc/ssl/sites/charlie/privkey.pem /etc/letsencrypt/archive/charlie.test/privkey1.pem
ln -sfn ../../archive/charlie.test/fullchain1.pem /etc/letsencrypt/live/charlie.test/fullchain.pem
ln -sfn ../../archive/charlie.test/privkey1.pem /etc/letsencrypt/live/charlie.test/privkey.pem
cat > /etc/letsencrypt/renewal/charlie.test.conf <<'EOF'
# renew_before_expiry = 30 days
version = 2.1.0
archive_dir = /etc/letsencrypt/archive/charlie.test
privkey = /etc/letsencrypt/live/charlie.test/privkey.pem
fullchain = /etc/letsencrypt/live/charlie.test/fullchain.pem
[renewalparams]
authenticator = webroot
webroot_path = /srv/www/charlie/current/public,
server = https://acme-v02.api.letsencrypt.org/directory
EOF
sed -i 's|^    listen 80;|    listen 80;\n    listen 443 ssl;\n    ssl_certificate /etc/ssl/sites/charlie/fullchain.pem;\n    ssl_certificate_key /etc/ssl/sites/charlie/privkey.pem;|' /etc/nginx/sites-available/charlie.conf

cat > /etc/systemd/system/charlie-worker@.service <<'EOF'
# Managed by Ansible (molecule/site_cleanup)
[Unit]
Description=charlie queue worker %i
[Service]
User=charlie
WorkingDirectory=/srv/www/charlie/current
ExecStart=/usr/bin/php /srv/www/charlie/current/artisan queue:work --name=%i
Restart=always
[Install]
WantedBy=multi-user.target
EOF
cat > /etc/cron.d/charlie <<'EOF'
# Managed by Ansible (molecule/site_cleanup)
* * * * * charlie cd /srv/www/charlie/current && php artisan schedule:run >/dev/null 2>&1
EOF

systemctl daemon-reload
systemctl enable --now php-fpm-site@alpha.service php-fpm-site@charlie.service php-fpm-site@delta.service \
  charlie-worker@default-1.service
systemctl restart php8.2-fpm nginx
