<?php

namespace App\Console\Commands;

use Illuminate\Console\Command;

/** Scheduled every minute: writes storage/app/heartbeat (time and release), proof the scheduler runs. */
class Heartbeat extends Command
{
    protected $signature = 'app:heartbeat';

    protected $description = 'Write storage/app/heartbeat with the time and the release id';

    public function handle()
    {
        $release = trim((string) @file_get_contents(base_path('RELEASE'))) ?: 'unknown';
        file_put_contents(storage_path('app/heartbeat'), gmdate('c').' '.$release."\n");
        $this->info('heartbeat '.$release);

        return 0;
    }
}
