<?php

namespace App\Http\Controllers;

use Illuminate\Routing\Controller;
use Illuminate\Support\Facades\DB;

class HomeController extends Controller
{
    /** The page: code version, release id (written at deploy) and a value read from the database. */
    public function index()
    {
        return response()->view('home', [
            'version' => config('testapp.version'),
            'release' => trim((string) @file_get_contents(base_path('RELEASE'))) ?: 'unknown',
            'greeting' => DB::table('settings')->where('key', 'greeting')->value('value'),
        ]);
    }
}
