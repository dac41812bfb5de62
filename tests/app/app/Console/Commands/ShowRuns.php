<?php

namespace App\Console\Commands;

use Illuminate\Console\Command;
use Illuminate\Support\Facades\DB;

/** Print the job runs, one JSON object per line. */
class ShowRuns extends Command
{
    protected $signature = 'app:runs';

    protected $description = 'Print the recorded job runs as JSON lines';

    public function handle()
    {
        foreach (DB::table('job_runs')->orderBy('id')->get() as $run) {
            $this->line(json_encode($run));
        }

        return 0;
    }
}
