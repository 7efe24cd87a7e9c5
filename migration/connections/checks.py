"""The environment check of steps 3 to 7 on the wizard's pages: each checked row gets what the
environment showed ("checked in the environment at 14:02 as app ..."), in its details under
"environment". A row is never ticked by it: a person confirms."""

from django.utils import timezone

from ..dynamics.checks import CHECKED_ITEMS, environment_findings
from ..dynamics.tokens import given_token_check
from ..models import ChecklistItem, ConnectionKind, Migration
from ..services.activity import activity_record
from .services import connection_client


class CheckError(ValueError):
    pass


def environment_check_run(*, migration: Migration, actor, access_token: str = "") -> list:
    """Read the Sales environment and record the result on each row it can speak for; as the
    connection's app, or with a token given for this check only (checked before it is sent)."""
    connection = migration.connections.filter(kind=ConnectionKind.SALES).first()
    if connection is None:
        raise CheckError("Set the Sales connection first (Migration → Connections).")
    access_token = access_token.strip()
    if access_token:
        given_token_check(access_token, resource=connection.url)
    client = connection_client(
        connection=connection, actor=actor, purpose="check steps 3 to 7", access_token=access_token
    )
    companies = list(migration.legal_entities.values_list("code", flat=True))
    findings = environment_findings(client, companies=companies)
    by_item = {}
    for finding in findings:
        by_item.setdefault(finding.item, []).append(finding.message)
    at = timezone.now()
    for item in ChecklistItem.objects.filter(migration=migration, key__in=CHECKED_ITEMS):
        messages = by_item.get(item.key, [])
        who = "a token given for this check" if access_token else f"app {connection.client_id}"
        result = {"at": at.isoformat(), "as": who, "ok": not messages,
                  "message": " ".join(messages) or CHECKED_ITEMS[item.key]}  # fmt: skip
        ChecklistItem.objects.filter(pk=item.pk).update(details={**item.details, "environment": result})
    activity_record(
        migration=migration, actor=actor, verb="environment_check",
        description=f"Checked steps 3 to 7 in {connection.url}: {len(findings)} finding(s)",
    )  # fmt: skip
    return findings
