"""Sending work to the worker, the one way services do it: by the task's name.

The tasks (migration/tasks.py) call the services; the services name a task instead of importing
the tasks module, so neither imports the other. A message is sent once the current transaction
commits (at once outside one): a worker never picks up a row it cannot see yet."""

from django.db import transaction

from p2cwizard.celery import app


def enqueue_on_commit(task: str, *args, task_id: str | None = None) -> None:
    """Run migration.tasks.<task>(*args) in a worker after the commit; `task_id` names the message.

    A task of another module is named by its dotted path (migration.connections.tasks.run_pull)."""
    transaction.on_commit(lambda: enqueue(task, *args, task_id=task_id))


def enqueue(task: str, *args, task_id: str | None = None) -> None:
    """Run migration.tasks.<task>(*args) in a worker; the message is sent now."""
    app.send_task(task if "." in task else f"migration.tasks.{task}", args, task_id=task_id)
