"""Who may do what on a migration. Non-members get 404, members lacking the role 403."""

from django.core.exceptions import PermissionDenied

from .models import Membership
from .selectors import membership_get

READ, WORK, MANAGE = "read", "work", "manage"


def membership_required(request, migration_id: int, need: str = READ) -> Membership:
    membership = membership_get(user=request.user, migration_id=migration_id)
    if need == WORK and not membership.can_work:
        raise PermissionDenied("Viewers can read this migration but not change it.")
    if need == MANAGE and not membership.can_manage:
        raise PermissionDenied("Only a project manager of this migration can do this.")
    return membership
