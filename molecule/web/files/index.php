<?php
// Test front controller of the web scenario (molecule/web): who runs me, health, CPU burn, peeking.
$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);
header('Content-Type: text/plain');
switch ($path) {
    case '/up':
        echo "ok\n";
        break;
    case '/burn':
        // Burn about 200 ms of CPU time (not wall time: a CPU quota makes it last longer).
        $start = getrusage();
        $used = 0.0;
        $x = 0;
        while ($used < 0.2) {
            for ($i = 0; $i < 20000; $i++) { $x += $i % 7; }
            $now = getrusage();
            $used = ($now['ru_utime.tv_sec'] - $start['ru_utime.tv_sec'])
                + ($now['ru_utime.tv_usec'] - $start['ru_utime.tv_usec']) / 1e6;
        }
        echo "burnt\n";
        break;
    case '/peek':
        // Try to read another site's private file.
        $other = preg_replace('/[^a-z0-9_]/', '', $_GET['site'] ?? '');
        $content = @file_get_contents("/srv/www/$other/shared/secret.txt");
        echo $content === false ? "denied\n" : "read: $content";
        break;
    case '/upload':
        echo strlen(file_get_contents('php://input')), "\n";
        break;
    default:
        echo posix_getpwuid(posix_geteuid())['name'], "\n";
}
