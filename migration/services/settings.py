"""Writes on a migration's step-8 initialization settings."""

from django.utils import timezone

from .. import runbook
from ..models import InitializationSettings
from .activity import activity_record

SETTING_FIELDS = (
    "company",
    "company_rule_column",
    "company_rule_map",
    "company_rule_columns",
    "customer_group",
    "relationship_type",
    "relationship_type_rule_column",
    "relationship_type_rule_map",
    "account_numbers_customized",
    "language",
    "order_type",
    "date_order",
    "country",
    "review_xlsx",
)


def init_settings_update(*, init_settings: InitializationSettings, actor, values: dict) -> list[str]:
    """Apply the step-8 form; every changed setting gets its own activity entry."""
    changed = [f for f in SETTING_FIELDS if f in values and getattr(init_settings, f) != values[f]]
    for field in changed:
        setattr(init_settings, field, values[field])
        label = InitializationSettings._meta.get_field(field).verbose_name
        activity_record(
            migration=init_settings.migration,
            actor=actor,
            verb="setting",
            description=f"Set {label} to {values[field]!s:.200}",
            step=runbook.INITIALIZE_STEP,
        )
    changed += _entities_update(init_settings, actor, values.get("entities", {}))
    if changed:
        init_settings.updated_by, init_settings.updated_at = actor, timezone.now()
        init_settings.save()
    return changed


DEFAULT_TEXT = "the migration's value"


def _entities_update(init_settings: InitializationSettings, actor, entities: dict) -> list[str]:
    """Customer group and language per legal entity ("" : the migration's value)."""
    changed = []
    for entity in init_settings.migration.legal_entities.all():
        own = entities.get(entity.code)
        if own is None:
            continue
        for field in ("customer_group", "language"):
            value = own.get(field, "")
            if getattr(entity, field) == value:
                continue
            setattr(entity, field, value)
            entity.save(update_fields=[field])
            changed.append(f"{entity.code}.{field}")
            label = "customer group" if field == "customer_group" else "language"
            activity_record(
                migration=init_settings.migration,
                actor=actor,
                verb="setting",
                description=f"Set the {label} of {entity.code} to {value or DEFAULT_TEXT}",
                step=runbook.INITIALIZE_STEP,
            )
    return changed
