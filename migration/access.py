"""Who may do what on a migration. Non-members get 404, members lacking the role 403."""

from django.contrib.auth.models import Group, Permission
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


# Creating a migration makes its creator its project manager, who may then look
# up accounts by name to add them: an administrator grants it (Admin > Users),
# through this group (made by a data migration) or the permission itself.
PROJECT_MANAGERS = "Project managers"
CREATE_MIGRATION = "migration.add_migration"


def project_managers_group() -> Group:
    """The group, made again when missing (a database flushed by the tests, say)."""
    group, created = Group.objects.get_or_create(name=PROJECT_MANAGERS)
    if created:
        group.permissions.add(
            Permission.objects.get(content_type__app_label="migration", codename="add_migration")
        )
    return group
