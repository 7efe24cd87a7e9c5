"""The 100,000-row flag (Sales' export limit) holds for every table of step 2, transformed or not."""

import pytest

from migration.engine import TABLES, inspect_file
from migration.engine.rules.report import EXPORT_LIMIT_ROWS

from .helpers import a_part


@pytest.mark.parametrize("table", sorted(TABLES))
def test_a_part_of_exactly_100000_rows_is_flagged_for_every_table(tmp_path, table):
    result = inspect_file(a_part(tmp_path / f"{table}.csv", EXPORT_LIMIT_ROWS), table=table)
    assert result.rows == EXPORT_LIMIT_ROWS
    assert result.issue_counts.get("export_limit_reached") == 1


def test_a_part_of_fewer_rows_is_not_flagged(tmp_path):
    result = inspect_file(a_part(tmp_path / "invoice.csv", EXPORT_LIMIT_ROWS - 1), table="invoice")
    assert "export_limit_reached" not in result.issue_counts
