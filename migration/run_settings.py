"""The step-8 settings a run uses: snapshotted on the job, turned into the engine's TransformSettings."""

from . import engine
from .models import Migration


def settings_snapshot(migration: Migration) -> dict:
    """The migration's step-8 settings as the engine names them, kept with each job."""
    s = migration.init_settings
    return {
        "company": s.company,
        "company_rule": {
            "source_column": s.company_rule_column,
            "mapping": s.company_rule_map,
            "columns": s.company_rule_columns,
        }
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


def settings_in_words(snapshot: dict) -> list[tuple[str, str]]:
    """A job's snapshotted settings as the initialization settings page names them."""
    from .models import CountryMode, DateOrder

    def rule(value: dict | None, what: str) -> str:
        if not value:
            return ""
        pairs = ", ".join(f"{k} → {v}" for k, v in value.get("mapping", {}).items())
        own = "".join(f", “{c}” in {t}" for t, c in (value.get("columns") or {}).items())
        column = value.get("source_column", "")
        return f"; per row from the column “{column}”{own}: {pairs} (other values: {what})"

    s = snapshot or {}
    words = [
        ("Company", f"{s.get('company', '')}{rule(s.get('company_rule'), 'this company')}"),
        ("Customer group", str(s.get("customer_group", ""))),
        (
            "Relationship type",
            f"{s.get('relationship_type', '')}{rule(s.get('relationship_type_rule'), 'this type')}",
        ),
        ("Account numbers customized", "Yes" if s.get("account_numbers_customized") else "No"),
        ("Language", str(s.get("language", ""))),
        ("Order type", str(s.get("order_type", ""))),
        ("Date order", dict(DateOrder.choices).get(s.get("date_order"), str(s.get("date_order", "")))),
        ("Country", dict(CountryMode.choices).get(s.get("country"), str(s.get("country", "")))),
        ("Column headers", "logical names" if s.get("headers") == "logical" else "display names"),
    ]
    for code, per in (s.get("companies") or {}).items():
        said = [f"customer group {per['customer_group']}"] if per.get("customer_group") else []
        said += [f"language {per['language']}"] if per.get("language") else []
        words.append((f"Legal entity {code}", ", ".join(said)))
    return words
