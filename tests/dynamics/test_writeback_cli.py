"""manage.py p2c_dataverse plan / apply / readback: the write-back from the command line, exit 0
when everything was written and reads back as planned, 1 when some records were not, 2 when it
could not run."""

import csv
import shutil

import pytest
from django.core.management import call_command

from ..entra import DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT

pytestmark = pytest.mark.django_db


@pytest.fixture
def credentials(monkeypatch, settings, entra):
    settings.P2C_AUTHORITY_URL = entra.authority_url
    for name, value in (("P2C_TENANT_ID", TENANT), ("P2C_CLIENT_ID", DAEMON_CLIENT_ID),
                        ("P2C_CLIENT_SECRET", DAEMON_CLIENT_SECRET)):  # fmt: skip
        monkeypatch.setenv(name, value)


def dataverse(*args) -> int:
    try:
        call_command("p2c_dataverse", *map(str, args))
    except SystemExit as exit:
        return exit.code
    return 0


def rows(path):
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_plan_apply_and_read_back_from_the_command_line(connect, credentials, sales, tmp_path, capsys):
    job = connect("quote")
    output = tmp_path / "quote-job.csv"
    shutil.copyfile(job.output_csv.path, output)
    plan = tmp_path / "plan.csv"
    assert (
        dataverse("plan", "quote", output, plan, "--url", sales.url, "--exported-at", "2021-02-01T00:00:00Z")
        == 0
    )
    planned = rows(plan)
    assert next(iter(planned[0])) == "quoteid"
    changes = [r for r in planned if r["outcome"] == "change"]
    assert changes and any(r["outcome"] == "refused" and "won" in r["reason"] for r in planned)
    assert f"{len(changes)} change" in capsys.readouterr().out

    someone = changes[2]["quoteid"]
    sales.patch(f"/api/data/v9.2/quotes({someone})", None, b'{"shipto_country": "Chile"}')
    assert dataverse("apply", plan, "--url", sales.url, "--batch-size", 7) == 1  # one not applied
    assert [r["quoteid"] for r in rows(tmp_path / "conflicts.csv")] == [someone]
    assert len(rows(tmp_path / "applied.csv")) == len(changes) - 1
    assert rows(tmp_path / "failed.csv") == []

    assert dataverse("readback", plan, tmp_path / "readback.csv", "--url", sales.url) == 1
    back = rows(tmp_path / "readback.csv")
    assert [r["quoteid"] for r in back if r["result"] == "differs"] == [someone]
    assert f"{len(changes) - 1} of {len(changes)} records as planned" in capsys.readouterr().out


def test_a_file_that_is_not_a_plan_is_refused(credentials, sales, tmp_path, capsys):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,outcome\nx,change\n", encoding="utf-8")
    assert dataverse("apply", wrong, "--url", sales.url) == 2
    assert "is not a write-back plan" in capsys.readouterr().err
