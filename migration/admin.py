from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib import admin

from .models import (
    Activity,
    ChecklistItem,
    Evidence,
    InitializationSettings,
    LegalEntity,
    Membership,
    Migration,
    Note,
    Signoff,
)


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
class ActivityAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only, even for operators."""

    list_display = ["at", "migration", "actor", "description"]
    list_filter = ["verb"]
    search_fields = ["description", "migration__name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register([Note, Evidence, Signoff, InitializationSettings])
admin.site.site_header = "P2C Wizard administration"


# --- Sign-in lockouts (django-axes) ----------------------------------------------
@admin.action(description="Unlock: forget these failed sign-ins")
def unlock_sign_ins(modeladmin, request, queryset) -> None:
    unlocked = sum(reset(username=a.username, ip=a.ip_address) for a in queryset)
    modeladmin.message_user(request, f"Unlocked {unlocked} user name and address pair(s).")


_attempts_admin = admin.site.get_model_admin(AccessAttempt)
_attempts_admin.actions = [*(_attempts_admin.actions or []), unlock_sign_ins]
