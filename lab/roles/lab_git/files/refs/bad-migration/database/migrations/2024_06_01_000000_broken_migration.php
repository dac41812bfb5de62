<?php

use Illuminate\Database\Migrations\Migration;

// Ref bad-migration: a migration that fails (the deploy must stop before the switch).
class BrokenMigration extends Migration
{
    public function up()
    {
        throw new RuntimeException('This migration fails on purpose (lab ref bad-migration).');
    }

    public function down()
    {
    }
}
