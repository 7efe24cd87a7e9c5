"""Reads that see the database at one moment.

A step page reads the checklist, uploads, jobs and verifications in a dozen queries. Without a
snapshot a worker's commit can land between two of them: a verification that ticks its checklist
row in the same commit then shows as verified beside a row not yet done. The page's live redraw
compares status.json with what the page shows, finds nothing new, and the row stays stale until
a reload. Inside `one_snapshot()` every query sees the database as of the first one.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction


@contextmanager
def one_snapshot(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    connection = connections[using]
    if connection.in_atomic_block:  # already in a transaction (a test's, or a caller's): keep it
        yield
        return
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        # The embedded setting begins transactions IMMEDIATE (writers queue instead of failing),
        # which would make page views queue behind each other. A deferred one takes a read
        # snapshot at its first query in WAL mode and blocks nobody.
        configured, connection.transaction_mode = connection.transaction_mode, "DEFERRED"
        try:
            with transaction.atomic(using=using):
                connection.transaction_mode = configured
                yield
        finally:
            connection.transaction_mode = configured
        return
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            # READ COMMITTED (the default) takes a new snapshot per statement.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield
