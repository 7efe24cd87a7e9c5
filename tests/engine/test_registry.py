"""The registry: every module of engine/tables is a table, and each declares all a table needs."""

from pathlib import Path

import pytest

from migration.engine import ISSUE_CODES, TABLES
from migration.engine.tables import issues_of

TABLE_MODULES = sorted(
    p.stem
    for p in (Path(__file__).parents[2] / "migration" / "engine" / "tables").glob("*.py")
    if not p.stem.startswith("_")
)


def test_it_registers_one_table_per_module_named_as_its_key():
    assert sorted(TABLES) == TABLE_MODULES


def test_it_keeps_the_contract_order_of_tables():
    assert [t.position for t in TABLES.values()] == list(range(1, len(TABLES) + 1))


@pytest.mark.parametrize("key", TABLE_MODULES)
def test_it_declares_the_identity_of_each_table(key):
    table = TABLES[key]
    assert table.export_name and table.entity and table.guid_headers
    assert all(h == h.strip().casefold() for h in table.guid_headers)
    assert table.transforms == bool(table.targets)
    assert table.sources


@pytest.mark.parametrize("key", [k for k, t in TABLES.items() if t.transforms])
def test_it_names_only_declared_columns_in_the_rules_of_each_table(key):
    table = TABLES[key]
    roles = set(table.columns)
    assert len(roles) == len(table.sources)
    assert table.targets[0].key == "company"
    assert len({t.key for t in table.targets}) == len(table.targets)
    assert all(callable(t.rule) for t in table.targets)
    assert {t.same_as for t in table.targets if t.same_as} <= roles
    assert set(table.receipt_chain) <= roles
    assert table.unique is None or table.unique in roles


@pytest.mark.parametrize("key", list(TABLES))
def test_it_declares_every_issue_code_once_with_a_severity_and_a_message(key):
    issues = issues_of(TABLES[key])
    assert len({i.code for i in issues}) == len(issues)
    for issue in issues:
        assert issue.severity in ("error", "warning") and issue.message
        assert ISSUE_CODES[issue.code] == (issue.severity, issue.message)


@pytest.mark.parametrize("key", [k for k, t in TABLES.items() if not t.transforms])
def test_it_says_why_a_table_is_not_transformed(key):
    assert "Finance and Operations" in TABLES[key].why_not


@pytest.mark.parametrize("key", TABLE_MODULES)
def test_each_table_declares_what_every_stage_needs(key):
    """Step 8 transforms it, packs it for the Import data wizard under its name and in its place;
    step 9 reconciles it against its F&O entities: a table that transforms declares all three (a
    missing one would break step 9's page), one that does not declares none."""
    from migration.engine import IMPORT_ORDER, RECONCILE_SPECS

    table = TABLES[key]
    if not table.transforms:
        assert (table.import_position, table.import_name, table.fno_entities) == (None, "", ())
        assert key not in IMPORT_ORDER and key not in RECONCILE_SPECS
        return
    assert table.import_name and table.import_position
    assert IMPORT_ORDER[table.import_position - 1] == key
    assert table.fno_entities and all(spec.table == key for spec in table.fno_entities)
    assert RECONCILE_SPECS[key] == table.fno_entities
    assert all(spec.our_key and spec.fno_key and spec.entity for spec in table.fno_entities)


def test_the_import_order_places_every_imported_table_once_headers_before_lines():
    from migration.engine import IMPORT_ORDER

    positions = sorted(t.import_position for t in TABLES.values() if t.import_position)
    assert positions == list(range(1, len(IMPORT_ORDER) + 1))
    for key in IMPORT_ORDER:
        header = TABLES[key].checked.header
        if header:
            assert IMPORT_ORDER.index(header[0]) < IMPORT_ORDER.index(key)
