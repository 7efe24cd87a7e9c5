"""manage.py p2c_transform: exit 0 with output, exit 2 with one line on stderr and no output."""

import json
import subprocess
import sys

import pytest
from django.conf import settings

from .helpers import ORDER_HEADERS, order_rows, read_csv, run_command, write_csv


@pytest.fixture
def order_csv(tmp_path):
    return write_csv(tmp_path / "order.csv", ORDER_HEADERS, order_rows(3))


def test_it_transforms_and_writes_the_report(tmp_path, order_csv, capsys):
    out, report = tmp_path / "out.csv", tmp_path / "r.json"
    code = run_command(
        "p2c_transform", "order", str(order_csv), str(out), "--company", "USMF",
        "--language", "de", "--country", "iso2", "--report", str(report),
    )  # fmt: skip
    assert code == 0
    assert read_csv(out)[1][-2:] == ["de", "Item based"]
    data = json.loads(report.read_text())
    assert data["rows_in"] == data["rows_out"] == 3
    assert data["settings"]["country"] == "iso2"
    assert len(data["input_sha256"]) == len(data["output_sha256"]) == 64
    assert "3 rows written" in capsys.readouterr().out


def test_it_applies_a_company_rule_from_the_command_line(tmp_path, capsys):
    headers = [*ORDER_HEADERS, "Owning Business Unit"]
    src = write_csv(tmp_path / "o.csv", headers, [[*r, "Contoso DE"] for r in order_rows(1)])
    out = tmp_path / "out.csv"
    code = run_command(
        "p2c_transform", "order", str(src), str(out), "--company", "USMF",
        "--company-column", "Owning Business Unit", "--company-map", "Contoso DE=DEMF",
    )  # fmt: skip
    assert code == 0
    rows = read_csv(out)
    assert rows[1][rows[0].index("Company")] == "DEMF"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["orders"], "invalid choice"),
        (["order", "--language", "xx"], "unknown language"),
        (["order", "--date-order", "dym"], "unknown date order"),
        (["order", "--country", "iso3"], "unknown country"),
        (["order", "--nonsense"], "unrecognized arguments"),
        (["order", "--company-map", "novalue"], "VALUE=CODE"),
    ],
)
def test_it_exits_2_with_one_line_on_usage_problems(tmp_path, order_csv, capsys, args, fragment):
    out = tmp_path / "out.csv"
    table, *rest = args
    code = run_command("p2c_transform", table, str(order_csv), str(out), "--company", "USMF", *rest)
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert not out.exists()


def test_it_requires_the_company(tmp_path, order_csv, capsys):
    assert run_command("p2c_transform", "order", str(order_csv), str(tmp_path / "o.csv")) == 2
    assert "--company" in capsys.readouterr().err


def test_it_exits_2_on_a_bad_input_file(tmp_path, capsys):
    src = tmp_path / "order.xlsx"
    src.write_text("not a workbook")
    out = tmp_path / "out.csv"
    assert run_command("p2c_transform", "order", str(src), str(out), "--company", "USMF") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_it_writes_import_parts_when_the_output_is_larger_than_part_mb(tmp_path, capsys):
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, order_rows(2000))
    out, report = tmp_path / "out.csv", tmp_path / "r.json"
    args = ["p2c_transform", "order", str(src), str(out), "--company", "USMF", "--report", str(report)]
    assert run_command(*args, "--part-mb", "0.1") == 0
    parts = sorted(tmp_path.glob("out_part*.csv"))
    assert [p.name for p in parts][:2] == ["out_part01.csv", "out_part02.csv"]
    assert all(p.stat().st_size <= 0.1 * 2**20 for p in parts)
    whole = read_csv(out)
    joined = [whole[0]] + [row for p in parts for row in read_csv(p)[1:]]
    assert joined == whole
    data = json.loads(report.read_text())
    assert [p["file"] for p in data["import_parts"]] == [p.name for p in parts]
    assert "import its" in capsys.readouterr().out


def test_it_writes_no_parts_when_the_output_fits(tmp_path, order_csv):
    out = tmp_path / "out.csv"
    args = ["p2c_transform", "order", str(order_csv), str(out), "--company", "USMF", "--part-mb", "8"]
    assert run_command(*args) == 0
    assert not list(tmp_path.glob("out_part*"))


def _shell(*args: str) -> subprocess.CompletedProcess:
    """`python manage.py ...` in its own process, as a consultant types it."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_shell_command_writes_what_the_loaded_app_writes(tmp_path, order_csv):
    """manage.py runs the engine commands without loading the apps: same bytes, same exit codes."""
    fast, loaded = tmp_path / "fast.csv", tmp_path / "loaded.csv"
    shell = _shell(
        "p2c_transform", "order", str(order_csv), str(fast), "--company", "USMF", "--language", "de"
    )
    assert shell.returncode == 0, shell.stderr
    assert "3 rows written" in shell.stdout
    assert (
        run_command(
            "p2c_transform", "order", str(order_csv), str(loaded), "--company", "USMF", "--language", "de"
        )
        == 0
    )
    assert fast.read_bytes() == loaded.read_bytes()


def test_the_shell_command_fails_on_one_line_with_exit_2(tmp_path, order_csv):
    missing = _shell(
        "p2c_transform", "order", str(tmp_path / "nope.csv"), str(tmp_path / "o.csv"), "--company", "X"
    )
    usage = _shell("p2c_transform", "order", "--bogus")
    for result in (missing, usage):
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert not (tmp_path / "o.csv").exists()
    listed = _shell("help")
    assert "p2c_transform" in listed.stdout and "p2c_verify" in listed.stdout
