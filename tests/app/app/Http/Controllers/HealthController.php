<?php

namespace App\Http\Controllers;

use Illuminate\Routing\Controller;
use Illuminate\Support\Facades\DB;
use Throwable;

class HealthController extends Controller
{
    /** GET /up: 200 when the application boots and reaches its database, 500 otherwise. */
    public function up()
    {
        if (! config('testapp.healthy')) {
            return response('unhealthy: testapp.healthy is false', 500);
        }
        try {
            DB::select('select 1');
        } catch (Throwable $e) {
            return response('database unreachable', 500);
        }

        return response('ok', 200)->header('Content-Type', 'text/plain');
    }
}
