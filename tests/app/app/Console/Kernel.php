<?php

namespace App\Console;

use Illuminate\Console\Scheduling\Schedule;
use Illuminate\Foundation\Console\Kernel as ConsoleKernel;

class Kernel extends ConsoleKernel
{
    protected $commands = [
        Commands\Heartbeat::class,
        Commands\DispatchRun::class,
        Commands\ShowRuns::class,
    ];

    protected function schedule(Schedule $schedule)
    {
        $schedule->command('app:heartbeat')->everyMinute();
    }
}
