<?php

namespace App\Http\Controllers;

use Illuminate\Http\Request;
use Illuminate\Routing\Controller;

class CounterController extends Controller
{
    /**
     * GET /counter: a counter kept in the visitor's Laravel session, as JSON ({count, node}).
     *
     * The session lives where SESSION_DRIVER puts it (redis for a site on several nodes: the shared
     * Redis, through the load balancers when it is replicated). A count that goes back to 1 is a lost
     * session; a Redis out of reach answers 500 (tests/bench/redis_failover.py counts both).
     */
    public function count(Request $request)
    {
        $session = $request->session();
        $count = (int) $session->get('count', 0) + 1;
        $session->put('count', $count);

        return response()->json(['count' => $count, 'node' => gethostname()]);
    }
}
