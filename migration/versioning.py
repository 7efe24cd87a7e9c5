"""A migration's version: a counter that moves with every change its pages or its status feed show.

status.json answers 304 from it alone (one query after the session's), and the step pages cache
what only changes on a commit under it. So every write must bump it, and in the same transaction
as the change: a poll that reads the new version then reads the new rows.

The one choke point is the ORM: every model that belongs to a migration is `Versioned`, whose
`save()`/`delete()` and whose queryset's `update()`, `delete()`, `bulk_create()` and
`bulk_update()` bump the version of the migrations they touch (and the migration's own queryset
bumps its own: `Migration.objects.filter(...).update(...)`). Services, workers' progress
reports and guarded state changes (`filter(state=...).update(...)`) are covered without a call
of their own. Only raw SQL escapes it (the job issues' COPY, which no page shows before the
job's own state changes).

The counter lives in its own table, not on the migration row: uploads hold that row's lock
while they store files (`select_for_update`), and a worker's progress report must not wait for
them. The bump comes first in its transaction, so locks are taken in one order (version, then
the rows) and two writers cannot deadlock on them.
"""

from collections.abc import Iterable

from django.db import models, transaction
from django.db.models import F


class MigrationVersion(models.Model):
    """The migration's version (`versioning.py`): moved on by every change its pages show."""

    migration = models.OneToOneField(
        "migration.Migration", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    version = models.BigIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.migration_id} v{self.version}"


def migration_versions_bump(migration_ids: Iterable[int] | models.QuerySet) -> None:
    """Move the versions of these migrations on (a list of ids or a query of ids)."""
    ids = migration_ids if isinstance(migration_ids, models.QuerySet) else sorted(set(migration_ids) - {None})
    if isinstance(ids, list) and not ids:
        return
    MigrationVersion.objects.filter(migration_id__in=ids).update(version=F("version") + 1)


def migration_changed(migration_id: int) -> None:
    """Bump one migration's version: for a service that locks a migration's rows
    (`select_for_update`) before changing them, to take the version's lock first."""
    migration_versions_bump([migration_id])


class VersionedQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        with transaction.atomic(using=self.db, savepoint=False):
            migration_versions_bump(self._migration_ids())
            return super().update(**kwargs)

    update.alters_data = True

    def delete(self):
        with transaction.atomic(using=self.db, savepoint=False):
            migration_versions_bump(self._migration_ids())
            return super().delete()

    delete.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            migration_versions_bump(self._owner_of(obj) for obj in objs)
            return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, *args, **kwargs):
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            migration_versions_bump(self._owner_of(obj) for obj in objs)
            return super().bulk_update(objs, *args, **kwargs)

    def _migration_ids(self) -> models.QuerySet:
        # A subquery, not a list: one statement whatever the rows, run before the change (a
        # guarded update's filter no longer matches once it ran).
        ids = self.order_by().values(self.model.versioned_by)
        ids.query.select_for_update = False  # a locking query's lock is its own, not the subquery's
        return ids

    def _owner_of(self, obj) -> int | None:
        return getattr(obj, self.model.versioned_by)


class Versioned(models.Model):
    """A model of rows that belong to a migration (`migration` foreign key) and show on its pages."""

    objects = VersionedQuerySet.as_manager()
    versioned_by = "migration_id"  # the field naming the migration whose version a write moves

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        with transaction.atomic(using=kwargs.get("using"), savepoint=False):
            migration_changed(self.migration_id)
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with transaction.atomic(using=kwargs.get("using"), savepoint=False):
            migration_changed(self.migration_id)
            return super().delete(*args, **kwargs)
