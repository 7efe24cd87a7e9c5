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
