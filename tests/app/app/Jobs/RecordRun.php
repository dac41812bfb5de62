<?php

namespace App\Jobs;

use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Support\Facades\DB;

/** Records in job_runs which release (and code version) ran it: proof of which code a worker runs. */
class RecordRun implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable;

    public $marker;

    public function __construct($marker)
    {
        $this->marker = $marker;
    }

    public function handle()
    {
        DB::table('job_runs')->insert([
            'marker' => $this->marker,
            'release' => trim((string) @file_get_contents(base_path('RELEASE'))) ?: 'unknown',
            'version' => config('testapp.version'),
            'ran_at' => gmdate('Y-m-d H:i:s'),
        ]);
    }
}
