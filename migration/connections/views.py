from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from ..access import MANAGE, READ, membership_required
from ..models import ConnectionKind
from .forms import ConnectionForm
from .secrets import SecretsKeyMissing
from .services import ConnectionDetailsError, connection_save


@login_required
@sensitive_post_parameters("client_secret")  # kept out of error reports
def connections(request: HttpRequest, migration_id: int) -> HttpResponse:
    """The migration's connections; only its project managers set them."""
    membership = membership_required(request, migration_id, MANAGE if request.method == "POST" else READ)
    migration = membership.migration
    posted = ConnectionForm(request.POST) if request.method == "POST" else None
    if posted is not None and posted.is_valid():
        try:
            connection = connection_save(migration=migration, actor=request.user, **posted.cleaned_data)
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
    context = {"migration": migration, "membership": membership, "rows": rows}
    return render(request, "migration/connections.html", context)
