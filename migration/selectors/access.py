"""Reads of who may see what: a user's migrations and memberships."""

from django.contrib.auth import get_user_model
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from ..models import (
    CrossCheck,
    Membership,
    Migration,
    MigrationVersion,
)


def migrations_for_user(user) -> QuerySet[Migration]:
    return Migration.objects.filter(memberships__user=user).select_related("copied_from")


def _version():
    return Subquery(MigrationVersion.objects.filter(migration=OuterRef("migration")).values("version"))


def membership_get(*, user, migration_id: int) -> Membership:
    """The user's membership, or 404: non-members must not learn a migration exists. With the
    migration's version (`version`, versioning.py) read in the same query."""
    try:
        return (
            Membership.objects.select_related("migration")
            .annotate(version=_version())
            .get(migration_id=migration_id, user=user)
        )
    except Membership.DoesNotExist:
        raise Http404("No such migration") from None


def users_named(*, name: str) -> list:
    """Active users a project manager may mean by `name`: the account with that user name, else
    those who signed in with Microsoft under that sign-in name (any case). Several only when
    people of different tenants share a sign-in name."""
    users = get_user_model().objects.filter(is_active=True)
    if user := users.filter(username=name).first():
        return [user]
    return list(users.filter(microsoft_account__sign_in_name__iexact=name).order_by("username"))


def status_membership(*, user, migration_id: int) -> Membership:
    """The user's membership with its migration, the migration's version (`version`, see
    versioning.py) and the latest cross-file check's id, state and summary (`check_id`,
    `check_state`, `check_summary`), in one query; or 404."""
    latest = CrossCheck.objects.filter(migration=OuterRef("migration")).order_by("-created_at", "-id")
    try:
        return (
            Membership.objects.select_related("migration")
            .annotate(
                version=_version(),
                check_id=Subquery(latest.values("id")[:1]),
                check_state=Subquery(latest.values("state")[:1]),
                check_summary=Subquery(latest.values("summary")[:1]),
            )
            .get(migration_id=migration_id, user=user)
        )
    except Membership.DoesNotExist:
        raise Http404("No such migration") from None
