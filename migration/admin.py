from urllib.parse import urlencode

from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

from .access import PROJECT_MANAGERS
from .models import (
    Activity,
    ChecklistItem,
    CrossCheck,
    Evidence,
    ExportUpload,
    ImportVerification,
    InitializationSettings,
    JobIssue,
    LegalEntity,
    Membership,
    MicrosoftAccount,
    Migration,
    Note,
    Signoff,
    SyncCheck,
    TransformJob,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Operators look; only the app writes these rows (append-only log, files, job states)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LegalEntityInline(admin.TabularInline):
    model = LegalEntity
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Migration)
class MigrationAdmin(admin.ModelAdmin):
    list_display = ["name", "customer", "go_live", "created_at"]
    search_fields = ["name", "customer"]
    inlines = [LegalEntityInline, MembershipInline]


@admin.register(ChecklistItem)
class ChecklistItemAdmin(admin.ModelAdmin):
    list_display = ["title", "migration", "step", "done", "done_by", "done_at", "blocker"]
    list_filter = ["step", "done", "kind"]
    search_fields = ["title", "migration__name"]


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ["at", "migration", "actor", "description"]
    list_filter = ["verb"]
    search_fields = ["description", "migration__name"]


@admin.register(ExportUpload)
class ExportUploadAdmin(ReadOnlyAdmin):
    list_display = [
        "original_name",
        "migration",
        "table",
        "kind",
        "version",
        "state",
        "uploaded_by",
        "uploaded_at",
    ]
    list_filter = ["state", "kind", "table"]
    list_select_related = ["migration", "uploaded_by"]
    search_fields = ["original_name", "sha256", "migration__name"]


@admin.register(CrossCheck)
class CrossCheckAdmin(ReadOnlyAdmin):
    list_display = ["id", "migration", "state", "message", "created_at"]
    list_filter = ["state"]
    list_select_related = ["migration"]
    search_fields = ["migration__name"]


@admin.register(TransformJob)
class TransformJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "migration", "table", "state", "rows_done", "rows_total", "attempts", "created_at",
                    "heartbeat_at"]  # fmt: skip
    list_filter = ["state", "table"]
    list_select_related = ["migration"]
    search_fields = ["migration__name", "task_id"]


@admin.register(JobIssue)
class JobIssueAdmin(ReadOnlyAdmin):
    list_display = ["job", "row", "severity", "code", "column", "message"]
    list_filter = ["severity", "code"]
    list_select_related = ["job"]
    search_fields = ["guid", "message"]


@admin.register(ImportVerification)
class ImportVerificationAdmin(ReadOnlyAdmin):
    list_display = ["id", "migration", "table", "state", "message", "created_at"]
    list_filter = ["state", "table"]
    list_select_related = ["migration"]
    search_fields = ["migration__name"]


admin.site.register([Note, Evidence, Signoff, InitializationSettings])
admin.site.site_header = "P2C Wizard administration"


# --- Sign-in lockouts (django-axes) ----------------------------------------------
@admin.action(description="Unlock: forget these failed sign-ins")
def unlock_sign_ins(modeladmin, request, queryset) -> None:
    unlocked = sum(reset(username=a.username, ip=a.ip_address) for a in queryset)
    modeladmin.message_user(request, f"Unlocked {unlocked} user name and address pair(s).")


_attempts_admin = admin.site.get_model_admin(AccessAttempt)
_attempts_admin.actions = [*(_attempts_admin.actions or []), unlock_sign_ins]


@admin.register(SyncCheck)
class SyncCheckAdmin(ReadOnlyAdmin):
    list_display = ["id", "migration", "kind", "table", "entity", "state", "ok", "created_by", "created_at"]
    list_filter = ["kind", "state", "table"]
    search_fields = ["migration__name", "message"]


CREATE_MIGRATIONS_HELP = (
    f"To let this person create migrations (and become their project manager), add them to the "
    f"“{PROJECT_MANAGERS}” group below. Everyone else can only work in migrations a project manager "
    "adds them to."
)


def _with_create_help(fieldsets):
    """Django's user fieldsets, the permissions one saying how to let someone create migrations."""
    return tuple(
        (name, {**options, "description": CREATE_MIGRATIONS_HELP}) if "groups" in options["fields"] else
        (name, options)
        for name, options in fieldsets
    )  # fmt: skip


class MicrosoftAccountInline(admin.StackedInline):
    """The Entra ID account a user signs in with, as the last sign-in left it: read only."""

    model = MicrosoftAccount
    can_delete = False
    readonly_fields = ["tenant_id", "object_id", "sign_in_name", "first_signed_in_at", "last_signed_in_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReturningUserAdmin(UserAdmin):
    """Django's user admin, which goes back to where it was opened from after adding a user.

    A migration's members page links here when a user name has no account; `next` (a local path
    only) brings the administrator back there with the new user name filled in."""

    fieldsets = _with_create_help(UserAdmin.fieldsets)

    def get_inlines(self, request, obj):
        return [MicrosoftAccountInline] if obj is not None else []  # an account comes from signing in

    def response_add(self, request, obj, post_url_continue=None):
        back = request.GET.get("next", "")
        staying = "_addanother" in request.POST or "_continue" in request.POST
        if back and not staying and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            self.message_user(request, f"Created the user {obj.username}.")
            return HttpResponseRedirect(f"{back}?{urlencode({'username': obj.username})}")
        return super().response_add(request, obj, post_url_continue)


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), ReturningUserAdmin)
