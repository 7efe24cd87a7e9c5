"""One lock order for a migration's rows: its version first, then its row (versioning.py). An
upload locks the migration and then writes its row; its inspection writes rows and then locks the
migration to queue the cross-file check. Taken in opposite orders, PostgreSQL kills one of them
("deadlock detected"): nine exports uploaded at once lost three that way."""

import threading
from pathlib import Path

import pytest
from django.db import connection, transaction

from migration.models import Migration, Note

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(work, errors: list) -> threading.Thread:
    """`work` in a transaction of its own connection; what killed it, in `errors`."""

    def run():
        try:
            with transaction.atomic():
                work()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_locking_the_migration_after_writing_its_rows_does_not_deadlock_with_the_reverse(migration, manager):
    errors: list = []
    a_locked, b_wrote = threading.Event(), threading.Event()

    def lock_then_write():  # an upload: the migration's lock, then its row
        Migration.objects.lock(migration.pk)
        a_locked.set()
        b_wrote.wait(2)  # the other has written by now, or waits for our lock
        Note.objects.create(migration=migration, step=2, author=manager, text="uploaded")

    def write_then_lock():  # an inspection: its rows, then the migration's lock
        a_locked.wait(5)
        Note.objects.create(migration=migration, step=2, author=manager, text="inspected")
        b_wrote.set()
        Migration.objects.lock(migration.pk)

    threads = [in_thread(lock_then_write, errors), in_thread(write_then_lock, errors)]
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert Note.objects.filter(migration=migration).count() == 2


def test_no_code_locks_a_migration_row_but_through_its_lock():
    root = Path(__file__).resolve().parent.parent / "migration"
    found = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "Migration.objects.select_for_update()" in path.read_text(encoding="utf-8")
    ]
    assert found == []
