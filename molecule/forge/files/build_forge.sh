#!/bin/sh
# Build, by hand and in one go, a host in Laravel Forge's layout (what Forge provisions on a server and
# creates for a site), from the app copied to /tmp/forge-app (tests/app, a real minimal Laravel app):
# - user forge (bash, in group sudo with a password, plus Forge's NOPASSWD reload rules);
# - /home/forge/shop.test (the app, its .env; a git checkout of /srv/git/shop.git, branch main) and
#   /home/forge/legacy.test (a site the model lacks);
# - /etc/nginx/sites-available/<domain> with Forge's includes (forge-conf/<domain>/{before,server,after}),
#   enabled by symlink, a TLS certificate under /etc/nginx/ssl/<domain>/<id>/, the catch-all server;
# - PHP 8.2's www pool running as forge; Supervisor's worker-101.conf (queue:work of shop.test);
# - forge's crontab (schedule:run of shop.test); MariaDB databases shop_db and old_reports, user shop.
# Secrets (the sudo and database passwords, APP_KEY) are made here at random: none is in the repository.
set -eu
rand() { openssl rand -hex 16; }

getent passwd forge >/dev/null || useradd -m -d /home/forge -s /bin/bash forge
usermod -a -G sudo,www-data forge
# Forge shows this sudo password once, when it provisions the server; here it is kept for the tests that
# connect as forge (production's connection, issue #17 point 5) in a root-only file.
FORGE_PASS=$(rand)
echo "forge:$FORGE_PASS" | chpasswd
( umask 077; printf '%s\n' "$FORGE_PASS" > /root/forge-sudo-password )
install -d -o forge -g forge -m 0700 /home/forge/.ssh /home/forge/.forge
cat > /etc/sudoers.d/php-fpm <<'EOS'
forge ALL=NOPASSWD: /usr/sbin/service php8.2-fpm reload
EOS
cat > /etc/sudoers.d/nginx <<'EOS'
forge ALL=NOPASSWD: /usr/sbin/service nginx *
EOS
cat > /etc/sudoers.d/supervisor <<'EOS'
forge ALL=NOPASSWD: /usr/bin/supervisorctl *
EOS
chmod 0440 /etc/sudoers.d/php-fpm /etc/sudoers.d/nginx /etc/sudoers.d/supervisor

site() {  # domain database
  d="/home/forge/$1"
  rm -rf "$d"
  cp -a /tmp/forge-app "$d"
  cat > "$d/.env" <<EOS
APP_NAME=$(echo "$1" | cut -d. -f1)
APP_ENV=production
APP_KEY=base64:$(openssl rand -base64 32)
APP_DEBUG=false
APP_URL=https://$1

LOG_CHANNEL=stack

DB_CONNECTION=mysql
DB_HOST=127.0.0.1
DB_PORT=3306
DB_DATABASE=$2
DB_USERNAME=shop
DB_PASSWORD=$DBPASS

QUEUE_CONNECTION=database
CACHE_STORE=file
SESSION_DRIVER=file
EOS
  chown -R forge:forge "$d"
  chmod 0600 "$d/.env"
  install -d -m 0755 "/etc/nginx/forge-conf/$1/before" "/etc/nginx/forge-conf/$1/server" "/etc/nginx/forge-conf/$1/after"
}

vhost() {  # domain "server names" tls(0/1)
  if [ "$3" = 1 ]; then
    listen="listen 443 ssl http2;
    listen [::]:443 ssl http2;"
    ssl="ssl_certificate /etc/nginx/ssl/$1/1001/server.crt;
    ssl_certificate_key /etc/nginx/ssl/$1/1001/server.key;"
    install -d -m 0755 "/etc/nginx/ssl/$1/1001"
    openssl req -x509 -newkey rsa:2048 -nodes -days 90 -subj "/CN=$1" -addext "subjectAltName=DNS:$1" \
      -keyout "/etc/nginx/ssl/$1/1001/server.key" -out "/etc/nginx/ssl/$1/1001/server.crt" 2>/dev/null
    cat > "/etc/nginx/forge-conf/$1/before/redirect.conf" <<EOS
server {
    listen 80;
    listen [::]:80;
    server_name $2;
    return 301 https://\$host\$request_uri;
}
EOS
  else
    listen="listen 80;
    listen [::]:80;"
    ssl=""
  fi
  cat > "/etc/nginx/sites-available/$1" <<EOS
# FORGE CONFIG (DO NOT REMOVE!)
include forge-conf/$1/before/*;

server {
    $listen
    server_name $2;
    server_tokens off;
    root /home/forge/$1/public;

    # FORGE SSL (DO NOT REMOVE!)
    $ssl

    add_header X-Frame-Options "SAMEORIGIN";
    add_header X-Content-Type-Options "nosniff";

    index index.html index.htm index.php;

    charset utf-8;

    # FORGE CONFIG (DO NOT REMOVE!)
    include forge-conf/$1/server/*;

    location / {
        try_files \$uri \$uri/ /index.php?\$query_string;
    }

    location = /favicon.ico { access_log off; log_not_found off; }
    location = /robots.txt  { access_log off; log_not_found off; }

    access_log off;
    error_log  /var/log/nginx/$1-error.log error;

    error_page 404 /index.php;

    location ~ \.php\$ {
        fastcgi_split_path_info ^(.+\.php)(/.+)\$;
        fastcgi_pass unix:/var/run/php/php8.2-fpm.sock;
        fastcgi_index index.php;
        include fastcgi_params;
    }

    location ~ /\.(?!well-known).* {
        deny all;
    }
}

# FORGE CONFIG (DO NOT REMOVE!)
include forge-conf/$1/after/*;
EOS
  ln -sfn "/etc/nginx/sites-available/$1" "/etc/nginx/sites-enabled/$1"
}

DBPASS=$(rand)
site shop.test shop_db
# Forge's sites are git checkouts of their repository (here a local one, owned by forge as Forge's deploy
# key would read it): branch main, tracking origin, so Forge's deploy script can `git pull origin main`.
rm -rf /srv/git/shop.git
install -d -o forge -g forge -m 0755 /srv/git
runuser -u forge -- sh -ec '
  git init -q --bare -b main /srv/git/shop.git
  cd /home/forge/shop.test
  git init -q -b main
  git add -A
  git -c user.name=Forge -c user.email=forge@localhost commit -qm "Initial import"
  git remote add origin /srv/git/shop.git
  git push -q -u origin main'
site legacy.test old_reports
vhost shop.test "shop.test www.shop.test" 1
vhost legacy.test "legacy.test" 0
rm -f /etc/nginx/sites-enabled/default
cat > /etc/nginx/sites-available/000-catch-all <<'EOS'
server {
    listen 80 default_server;
    listen [::]:80 default_server;
    server_name _;
    server_tokens off;
    return 444;
}
EOS
ln -sfn /etc/nginx/sites-available/000-catch-all /etc/nginx/sites-enabled/000-catch-all

sed -i 's/^user = www-data/user = forge/; s/^group = www-data/group = forge/' /etc/php/8.2/fpm/pool.d/www.conf

cat > /etc/supervisor/conf.d/worker-101.conf <<'EOS'
[program:worker-101]
command=php8.2 /home/forge/shop.test/artisan queue:work database --sleep=3 --quiet --timeout=60 --tries=3
process_name=%(program_name)s_%(process_num)02d
autostart=true
autorestart=true
stopasgroup=true
killasgroup=true
user=forge
numprocs=1
stopwaitsecs=70
stdout_logfile=/home/forge/.forge/worker-101.log
EOS

printf '# Forge scheduler\n* * * * * php8.2 /home/forge/shop.test/artisan schedule:run >> /dev/null 2>&1\n' | crontab -u forge -

mysql <<EOS
CREATE DATABASE IF NOT EXISTS shop_db;
CREATE DATABASE IF NOT EXISTS old_reports;
CREATE USER IF NOT EXISTS 'shop'@'localhost' IDENTIFIED BY '$DBPASS';
GRANT ALL ON shop_db.* TO 'shop'@'localhost';
CREATE TABLE IF NOT EXISTS old_reports.report (id INT PRIMARY KEY, body TEXT);
EOS

nginx -t
systemctl reload nginx php8.2-fpm
supervisorctl reread >/dev/null && supervisorctl update >/dev/null
