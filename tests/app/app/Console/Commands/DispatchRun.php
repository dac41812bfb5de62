<?php

namespace App\Console\Commands;

use App\Jobs\RecordRun;
use Illuminate\Console\Command;

/** Queue one RecordRun job tagged with a marker, for a worker to run. */
class DispatchRun extends Command
{
    protected $signature = 'app:dispatch-run {marker}';

    protected $description = 'Queue a job that records which release and code version ran it';

    public function handle()
    {
        RecordRun::dispatch($this->argument('marker'));
        $this->info('queued '.$this->argument('marker'));

        return 0;
    }
}
