"""The environment check of steps 3 to 8 on the wizard's pages, run by a worker: each row it speaks
for gets what the environment showed ("checked in the environment at 14:02 as app ..."), in its
details under "environment"; step 8's readiness is kept on the check. A row is never ticked by it:
a person confirms."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..dynamics.checks import CHECKED_ITEMS, STEP8_TABLES, Finding, environment_findings
from ..dynamics.tokens import TokenError
from ..models import ChecklistItem, CheckState, ConnectionKind, EnvironmentCheck, Migration
from ..services.activity import activity_record
from ..services.queue import enqueue_on_commit
from ..versioning import migration_changed
from .secrets import token_sealed_for
from .services import connection_client

# Step 8's rows, with what the check found when all is well on their table.
READY_ITEMS = {
    f"init-{key}": f"The application user may update every {entity}; optimistic concurrency is on"
    + ("; no closed record." if entity in ("salesorder", "quote") else ".")
    for entity, key in STEP8_TABLES.items()
}


# A check reads a few dozen pages: one still unfinished after this long lost its worker, and
# another may start.
CHECK_STALE_AFTER = timedelta(minutes=15)


class CheckError(ValueError):
    pass


def environment_check_start(*, migration: Migration, actor, access_token: str = "") -> EnvironmentCheck:
    """Queue a check of the Sales environment (a worker reads it); one at a time per migration. As
    the connection's app, or with a token given for this check only: checked (expiry, environment)
    before anything is queued, and handed to the worker sealed in the task's message."""
    connection = migration.connections.filter(kind=ConnectionKind.SALES).first()
    if connection is None:
        raise CheckError("Set the Sales connection first (Migration → Connections).")
    try:
        sealed = token_sealed_for(access_token, connection.url)
    except TokenError as error:
        raise CheckError(str(error)) from None
    with transaction.atomic():
        Migration.objects.lock(migration.pk)
        running = migration.environment_checks.filter(
            state__in=(CheckState.QUEUED, CheckState.RUNNING),
            requested_at__gte=timezone.now() - CHECK_STALE_AFTER,
        )
        if running.exists():
            raise CheckError("The environment is being checked already: its result shows here when done.")
        check = EnvironmentCheck.objects.create(migration=migration, requested_by=actor)
        enqueue_on_commit("migration.connections.tasks.run_environment_check", check.id, sealed)
    return check


def _settings_per_company(migration: Migration) -> tuple[dict[str, str], dict[str, str]]:
    """Step 8's customer group and language of each legal entity: its own, else the migration's."""
    settings = getattr(migration, "init_settings", None)
    group, language = (settings.customer_group, settings.language) if settings else ("10", "en-us")
    entities = list(migration.legal_entities.all())
    return (
        {e.code: e.customer_group or group for e in entities},
        {e.code: e.language or language for e in entities},
    )


def environment_check_run(*, check_id: int, access_token: str = "") -> list[Finding]:
    """Read the Sales environment and record the result on each row it can speak for."""
    check = EnvironmentCheck.objects.select_related("migration", "requested_by").get(pk=check_id)
    if check.state in (CheckState.DONE, CheckState.FAILED):
        return []  # a redelivered message of a finished check
    migration = check.migration
    connection = migration.connections.filter(kind=ConnectionKind.SALES).first()
    if connection is None:
        raise CheckError("The Sales connection was removed: set it again (Migration → Connections).")
    EnvironmentCheck.objects.filter(pk=check.pk).update(state=CheckState.RUNNING)
    client = connection_client(
        connection=connection,
        actor=check.requested_by,
        purpose="check steps 3 to 8",
        access_token=access_token,
    )
    groups, languages = _settings_per_company(migration)
    findings = environment_findings(
        client, companies=list(groups), customer_groups=groups, languages=languages
    )
    checked_as = "a token given for this check" if access_token else f"app {connection.client_id}"
    _record_on_rows(migration, findings, checked_as)
    readiness = [{"item": f.item, "message": f.message} for f in findings if f.step == 8]
    EnvironmentCheck.objects.filter(pk=check.pk).update(
        state=CheckState.DONE, checked_as=checked_as, readiness=readiness, finished_at=timezone.now(),
        message=f"{len(findings)} finding(s)",
    )  # fmt: skip
    activity_record(
        migration=migration, actor=check.requested_by, verb="environment_check",
        description=f"Checked steps 3 to 8 in {connection.url}: {len(findings)} finding(s)",
    )  # fmt: skip
    return findings


def _record_on_rows(migration: Migration, findings: list[Finding], checked_as: str) -> None:
    by_item: dict[str, list[str]] = {}
    for finding in findings:
        by_item.setdefault(finding.item, []).append(finding.message)
    at = timezone.now()
    expected = CHECKED_ITEMS | READY_ITEMS
    with transaction.atomic():
        migration_changed(migration.pk)  # the version's lock before the items' (versioning.py)
        for item in ChecklistItem.objects.select_for_update().filter(migration=migration, key__in=expected):
            messages = by_item.get(item.key, [])
            result = {"at": at.isoformat(), "as": checked_as, "ok": not messages,
                      "message": " ".join(messages) or expected[item.key]}  # fmt: skip
            ChecklistItem.objects.filter(pk=item.pk).update(details={**item.details, "environment": result})


def environment_check_fail(*, check_id: int, message: str) -> None:
    EnvironmentCheck.objects.filter(pk=check_id).update(
        state=CheckState.FAILED, message=message[:1000], finished_at=timezone.now()
    )
