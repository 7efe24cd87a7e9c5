"""Writes on migrations, their legal entities and members."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction

from .. import item_kinds, runbook
from ..access import CREATE_MIGRATION
from ..models import ChecklistItem, InitializationSettings, LegalEntity, Membership, Migration, Purpose, Role
from .activity import activity_record
from .checklist import duplicate_rule_record


@dataclass(frozen=True)
class LegalEntityData:
    code: str
    name: str


class MembershipError(Exception):
    pass


@transaction.atomic
def migration_create(
    *,
    creator,
    name: str,
    customer: str,
    legal_entities: list[LegalEntityData],
    fno_url: str = "",
    ce_url: str = "",
    go_live=None,
) -> Migration:
    """Create a migration with its checklist; the creator becomes its project manager."""
    migration = Migration.objects.create(
        name=name, customer=customer, fno_url=fno_url, ce_url=ce_url, go_live=go_live, created_by=creator
    )
    Membership.objects.create(migration=migration, user=creator, role=Role.MANAGER)
    _seed_checklist(migration)
    for entity in legal_entities:
        legal_entity_add(migration=migration, actor=None, code=entity.code, name=entity.name)
    InitializationSettings.objects.create(migration=migration, company=legal_entities[0].code.upper())
    activity_record(
        migration=migration, actor=creator, verb="created", description=f"Created migration {name}"
    )
    return migration


def _seed_checklist(migration: Migration) -> None:
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            migration=migration,
            step=step.number,
            key=spec.key,
            kind=spec.kind,
            title=spec.title,
            position=i if spec.position is None else spec.position,
        )
        for step in runbook.STEPS
        for i, spec in enumerate(step.items)
    )


def sync_run_key(project: str, code: str) -> str:
    return f"sync-{runbook.slug(project)}-{code.lower()}"


def _entity_items(migration: Migration, entity: LegalEntity) -> list[ChecklistItem]:
    """A legal entity's rows: its link (step 5) and each Data Integrator project's last run (step 1)."""
    number = migration.legal_entities.count()
    link = ChecklistItem(
        migration=migration,
        step=runbook.CONNECTION_STEP,
        key=f"link-{entity.code.lower()}",
        kind=item_kinds.LEGAL_ENTITY,
        title=f"{entity.code} {entity.name} linked",
        position=number,
    )
    # One row per project and legal entity, grouped by project.
    runs = [
        ChecklistItem(
            migration=migration,
            step=runbook.LAST_SYNC_STEP,
            key=sync_run_key(project, entity.code),
            kind=item_kinds.SYNC_RUN,
            title=f"{project}, {entity.code}",
            position=100 * i + number,
        )
        for i, project in enumerate(runbook.DATA_INTEGRATOR_PROJECTS)
    ]
    return [link, *runs]


def legal_entity_add(*, migration: Migration, actor, code: str, name: str) -> LegalEntity:
    entity = LegalEntity.objects.create(migration=migration, code=code.upper(), name=name)
    ChecklistItem.objects.bulk_create(_entity_items(migration, entity))
    if actor is not None:
        activity_record(
            migration=migration,
            actor=actor,
            verb="setting",
            description=f"Added legal entity {entity}",
            step=runbook.CONNECTION_STEP,
        )
    return entity


@transaction.atomic
def legal_entity_remove(*, entity: LegalEntity, actor) -> None:
    migration = entity.migration
    if migration.legal_entities.count() <= 1:
        raise MembershipError("A migration needs at least one legal entity.")
    keys = [f"link-{entity.code.lower()}"] + [
        sync_run_key(p, entity.code) for p in runbook.DATA_INTEGRATOR_PROJECTS
    ]
    ChecklistItem.objects.filter(migration=migration, key__in=keys).delete()
    entity.delete()
    activity_record(
        migration=migration,
        actor=actor,
        verb="setting",
        description=f"Removed legal entity {entity}",
        step=runbook.CONNECTION_STEP,
    )


FIELD_LABELS = {
    "name": "name",
    "customer": "customer",
    "fno_url": "Finance and Operations URL",
    "ce_url": "customer engagement URL",
    "go_live": "go-live date",
}


@transaction.atomic
def migration_update(*, migration: Migration, actor, **changes) -> list[str]:
    """Apply changed fields and log each one; returns the labels of what changed."""
    changed = []
    for field, value in changes.items():
        if getattr(migration, field) != value:
            setattr(migration, field, value)
            changed.append(field)
    if changed:
        migration.save(update_fields=changed)
        for field in changed:
            activity_record(
                migration=migration,
                actor=actor,
                verb="setting",
                description=f"Changed {FIELD_LABELS[field]} to {getattr(migration, field) or '(empty)'}",
            )
    return changed


def member_add(*, migration: Migration, actor, user, role: str) -> Membership:
    if Membership.objects.filter(migration=migration, user=user).exists():
        raise MembershipError(f"{user.username} is already a member of this migration.")
    membership = Membership.objects.create(migration=migration, user=user, role=role)
    activity_record(
        migration=migration,
        actor=actor,
        verb="member",
        description=f"Added {user.username} as {membership.get_role_display().lower()}",
    )
    return membership


def _last_manager(membership: Membership) -> bool:
    managers = Membership.objects.filter(migration=membership.migration, role=Role.MANAGER)
    return membership.role == Role.MANAGER and managers.count() == 1


def member_change_role(*, membership: Membership, actor, role: str) -> None:
    if membership.role == role:
        return
    if _last_manager(membership):
        raise MembershipError("A migration needs at least one project manager.")
    membership.role = role
    membership.save(update_fields=["role"])
    activity_record(
        migration=membership.migration,
        actor=actor,
        verb="member",
        description=f"Changed {membership.user.username}'s role to {membership.get_role_display().lower()}",
    )


def member_remove(*, membership: Membership, actor) -> None:
    if _last_manager(membership):
        raise MembershipError("A migration needs at least one project manager.")
    membership.delete()
    activity_record(
        migration=membership.migration,
        actor=actor,
        verb="member",
        description=f"Removed {membership.user.username}",
    )


def _copy_fields(source, skip: set[str]) -> dict:
    """Every stored field of a row but its identity (new fields come along without a change here)."""
    return {f.attname: getattr(source, f.attname) for f in source._meta.concrete_fields if f.name not in skip}


@transaction.atomic
def migration_copy(
    *,
    source: Migration,
    actor,
    name: str,
    purpose: str = Purpose.PRODUCTION,
    fno_url: str = "",
    ce_url: str = "",
    go_live=None,
) -> Migration:
    """A new migration that repeats `source`'s decisions: legal entities, members, step-8 settings and
    the recorded duplicate detection rules (marked to confirm). Nothing done is copied: a fresh
    checklist, no uploads, no jobs, no results, no sign-offs, and not the rehearsal's environments
    or go-live date (the copy's are given). `source` becomes the rehearsal when it had no purpose yet.

    A copy is a new migration its creator then manages: it needs the permission to create one."""
    if not actor.has_perm(CREATE_MIGRATION):
        raise PermissionDenied("Only a member of Project managers can start a new migration, copied or not.")
    new_run = {"fno_url": fno_url, "ce_url": ce_url, "go_live": go_live}
    skip = {"id", "name", "created_by", "created_at", "purpose", "copied_from", *new_run}
    copy = Migration.objects.create(
        **_copy_fields(source, skip),
        **new_run,
        name=name,
        created_by=actor,
        purpose=purpose,
        copied_from=source,
    )
    _seed_checklist(copy)
    for entity in source.legal_entities.all():
        added = legal_entity_add(migration=copy, actor=None, code=entity.code, name=entity.name)
        extra = _copy_fields(entity, {"id", "migration", "code", "name"})
        if extra:
            LegalEntity.objects.filter(id=added.id).update(**extra)
    for membership in source.memberships.all():
        Membership.objects.create(migration=copy, user_id=membership.user_id, role=membership.role)
    if not copy.memberships.filter(user=actor).exists():
        Membership.objects.create(migration=copy, user=actor, role=Role.MANAGER)
    settings = _copy_fields(source.init_settings, {"id", "migration", "updated_by", "updated_at"})
    InitializationSettings.objects.create(migration=copy, **settings, updated_by=actor)
    for rule in source.items.filter(kind=item_kinds.DUPLICATE_RULE).order_by("position", "id"):
        duplicate_rule_record(
            migration=copy,
            actor=actor,
            name=rule.details.get("name", ""),
            table=rule.details.get("table", ""),
            from_rehearsal=True,
        )
    if not source.purpose:
        Migration.objects.filter(id=source.id).update(purpose=Purpose.REHEARSAL)
    activity_record(
        migration=copy, actor=actor, verb="created", description=f"Created {name} as a copy of {source.name}"
    )
    activity_record(
        migration=source,
        actor=actor,
        verb="copied",
        description=f"Copied to {name} ({copy.get_purpose_display()})",
    )
    return copy
