"""The step-8 settings a run uses: snapshotted on the job, turned into the engine's TransformSettings."""

from . import engine
from .models import Migration


def settings_snapshot(migration: Migration) -> dict:
    """The migration's step-8 settings as the engine names them, kept with each job."""
    s = migration.init_settings
    return {
        "company": s.company,
        "company_rule": {"source_column": s.company_rule_column, "mapping": s.company_rule_map}
        if s.company_rule_column and s.company_rule_map
        else None,
        "customer_group": s.customer_group,
        "relationship_type": s.relationship_type,
        "account_numbers_customized": s.account_numbers_customized,
        "language": s.language,
        "order_type": s.order_type,
        "date_order": s.date_order,
        "country": s.country,
        "headers": "display",
        # Not an engine setting (the engine ignores it): the job writes the xlsx review copy too.
        "review_xlsx": s.review_xlsx,
        "companies": {
            e.code: {"customer_group": e.customer_group, "language": e.language}
            for e in migration.legal_entities.all()
            if e.customer_group or e.language
        },
        "relationship_type_rule": (
            {"source_column": s.relationship_type_rule_column, "mapping": s.relationship_type_rule_map}
            if s.relationship_type_rule_column and s.relationship_type_rule_map
            else None
        ),
    }


def engine_settings(run_settings: dict, party_numbers_path: str | None) -> engine.TransformSettings:
    return engine.TransformSettings.from_dict(run_settings, party_numbers_path=party_numbers_path)
