<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\DB;
use Illuminate\Support\Facades\Schema;

class CreateSettingsTable extends Migration
{
    public function up()
    {
        Schema::create('settings', function (Blueprint $table) {
            $table->string('key')->primary();
            $table->string('value');
        });
        DB::table('settings')->insert(['key' => 'greeting', 'value' => 'Bonjour from the database']);

        Schema::create('job_runs', function (Blueprint $table) {
            $table->bigIncrements('id');
            $table->string('marker');
            $table->string('release');
            $table->string('version');
            $table->string('ran_at');
        });
    }

    public function down()
    {
        Schema::dropIfExists('job_runs');
        Schema::dropIfExists('settings');
    }
}
