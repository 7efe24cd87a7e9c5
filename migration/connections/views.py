from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from .. import runbook
from ..access import MANAGE, READ, WORK, membership_required
from ..models import ConnectionKind
from ..upload_limits import receives_uploads, upload_refusal_message
from .checks import CheckError, environment_check_start
from .forms import ConnectionForm
from .pulls import PullError, pull_progress, pull_start
from .secrets import SecretsKeyMissing
from .services import ConnectionDetailsError, connection_save


@receives_uploads  # a certificate and its key: the size limit and the pace as for any file
@login_required
@sensitive_post_parameters("client_secret")  # kept out of error reports
def connections(request: HttpRequest, migration_id: int) -> HttpResponse:
    """The migration's connections; only its project managers set them."""
    membership = membership_required(request, migration_id, MANAGE if request.method == "POST" else READ)
    migration = membership.migration
    posted = ConnectionForm(request.POST, request.FILES) if request.method == "POST" else None
    if posted is not None and (refused := upload_refusal_message(request, advice="Upload the PEM text.")):
        posted.add_error(None, refused)
    elif posted is not None and posted.is_valid():
        try:
            connection = connection_save(
                migration=migration, actor=request.user, **posted.connection_details()
            )
            messages.success(request, f"{connection.get_kind_display()} connection saved.")
            return redirect("connections", migration_id=migration_id)
        except (ConnectionDetailsError, SecretsKeyMissing) as error:
            posted.add_error(None, str(error))
    stored = {c.kind: c for c in migration.connections.select_related("set_by")}
    rows = []
    for kind, label in ConnectionKind.choices:
        form = posted if posted is not None and posted.data.get("kind") == kind else None
        connection = stored.get(kind)
        initial = {"kind": kind, "url": connection.url if connection else ""}
        if connection:
            initial |= {"tenant_id": connection.tenant_id, "client_id": connection.client_id}
        rows.append(
            {
                "kind": kind,
                "label": label,
                "connection": connection,
                "form": form or ConnectionForm(initial=initial),
            }
        )
    context = {
        "migration": migration,
        "membership": membership,
        "rows": rows,
        "tables": runbook.EXPORT_TABLES,
        "pulls": _pulls_with_progress(migration),
        "sales_url": stored[ConnectionKind.SALES].url if ConnectionKind.SALES in stored else "",
    }
    return render(request, "migration/connections.html", context)


@login_required
@sensitive_post_parameters("access_token")  # kept out of error reports
@require_POST
def pull_create(request: HttpRequest, migration_id: int) -> HttpResponse:
    """Pull a table from Sales into the step-2 export (a consultant's or a project manager's), as
    the connection's app or with a token given for this pull only."""
    membership = membership_required(request, migration_id, WORK)
    connection = membership.migration.connections.filter(kind=ConnectionKind.SALES).first()
    try:
        if connection is None:
            raise PullError("Set the Sales connection first.")
        pull = pull_start(
            connection=connection, table=request.POST.get("table", ""), actor=request.user,
            access_token=request.POST.get("access_token", ""),
        )  # fmt: skip
        messages.success(request, f"Pulling {pull.table}: it is stored as a step-2 export when read.")
    except (PullError, SecretsKeyMissing, ValueError) as error:
        messages.error(request, str(error))
    return redirect("connections", migration_id=migration_id)


@login_required
@sensitive_post_parameters("access_token")  # kept out of error reports
@require_POST
def environment_check(request: HttpRequest, migration_id: int, step: str) -> HttpResponse:
    """Queue a check of steps 3 to 8 in the Sales environment (a worker reads it), then back to the
    step's page, where its result shows when done."""
    membership = membership_required(request, migration_id, WORK)
    try:
        environment_check_start(
            migration=membership.migration, actor=request.user,
            access_token=request.POST.get("access_token", ""),
        )  # fmt: skip
        messages.success(request, "Checking the environment: what it finds shows on the rows when done.")
    except CheckError as error:
        messages.error(request, f"The environment could not be checked: {error}")
    return redirect("runbook", migration_id=migration_id, step=step)


def _pulls_with_progress(migration) -> list:
    now = timezone.now()
    pulls = list(migration.pulls.select_related("upload").order_by("-requested_at")[:20])
    for pull in pulls:
        pull.progress = pull_progress(pull, now)
    return pulls


@login_required
def connections_status_json(request: HttpRequest, migration_id: int) -> HttpResponse:
    """What the step pages and the Connections page poll while a check or a pull runs (environment.js):
    the newest check's state, each recent pull's state and progress."""
    migration = membership_required(request, migration_id, READ).migration
    check = migration.environment_checks.order_by("-id").values("id", "state", "message").first()
    pulls = [
        {"id": p.id, "table": p.table, "state": p.state, "rows": p.progress.rows,
         "rows_per_second": p.progress.rows_per_second, "seconds_left": p.progress.seconds_left}
        for p in _pulls_with_progress(migration)
    ]  # fmt: skip
    return JsonResponse({"environment_check": check, "pulls": pulls})
