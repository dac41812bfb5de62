<?php

// Laravel 8 from Debian's php-laravel-framework: no vendor/laravel, nothing from Packagist.
require_once '/usr/share/php/Illuminate/autoload.php';
// Laravel's HTTP client (GET /search) needs Guzzle: Debian's php-guzzlehttp-guzzle, where installed
// (Laravel's autoloader looks for it under another path than the one Debian installs it at).
if (is_file('/usr/share/php/GuzzleHttp/autoload.php')) {
    require_once '/usr/share/php/GuzzleHttp/autoload.php';
}

$app = new Illuminate\Foundation\Application(
    $_ENV['APP_BASE_PATH'] ?? dirname(__DIR__)
);

$app->singleton(Illuminate\Contracts\Http\Kernel::class, App\Http\Kernel::class);
$app->singleton(Illuminate\Contracts\Console\Kernel::class, App\Console\Kernel::class);
$app->singleton(Illuminate\Contracts\Debug\ExceptionHandler::class, App\Exceptions\Handler::class);

return $app;
