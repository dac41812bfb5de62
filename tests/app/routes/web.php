<?php

use App\Http\Controllers\CounterController;
use App\Http\Controllers\HealthController;
use App\Http\Controllers\HomeController;
use App\Http\Controllers\SearchController;
use Illuminate\Session\Middleware\StartSession;
use Illuminate\Support\Facades\Route;

Route::get('/', [HomeController::class, 'index']);
Route::get('/up', [HealthController::class, 'up']);
Route::get('/search', [SearchController::class, 'search']);
// The only route with a session (StartSession): the other pages stay stateless.
Route::get('/counter', [CounterController::class, 'count'])->middleware(StartSession::class);
