"""The worker's tasks (huey): python console/manage.py run_huey runs them, outside any web request."""

from huey.contrib.djhuey import db_task

from . import runner


@db_task()
def execute_run(run_id):
    runner.execute(run_id)
