"""Step 2's 100,000-row flag on the upload itself, for the tables the engine does not transform."""

import pytest

from migration.engine.rules.report import EXPORT_LIMIT_ROWS

from .engine.helpers import a_part
from .helpers import upload_inspected

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("table", ["invoice", "invoice_products", "products"])
def test_a_part_of_exactly_100000_rows_waits_for_confirmation(migration, consultant, tmp_path, table):
    upload = upload_inspected(
        migration, consultant, str(a_part(tmp_path / f"{table}.csv", EXPORT_LIMIT_ROWS)), table=table
    )
    assert upload.limit_reached and upload.limit_unconfirmed
