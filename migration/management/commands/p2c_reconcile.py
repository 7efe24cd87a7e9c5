"""manage.py p2c_reconcile TABLE OUR_OUTPUT FNO_EXPORT [FNO_EXPORT ...]: step 9, after initial sync.

Exit 0: everything dual-write should have synced arrived in Finance and Operations with the values
we set. Exit 1: not (the report lists each missing, unexpected and differing record). Exit 2: bad
input or usage, one line on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from django.core.management.base import CommandParser

from migration.engine import EngineError
from migration.engine.files.writing import AtomicFile
from migration.engine.step9.reconcile import RECONCILED_TABLES, reconcile_sync

from ._p2c_cli import EngineCommand


class Command(EngineCommand):
    help = (
        "Compare a step-8 output with F&O's export of the entity after initial sync. "
        "Exit 0: all arrived as expected; 1: differences (see --report); 2: bad input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("table", choices=list(RECONCILED_TABLES), metavar="TABLE")
        parser.add_argument("ours", metavar="OUR_OUTPUT", help="the step-8 output (.csv or .xlsx)")
        parser.add_argument(
            "fno", nargs="+", metavar="FNO_EXPORT", help="F&O data management export, all its parts"
        )
        parser.add_argument("--entity", help="F&O entity when the table has two (contact: Contact persons)")
        parser.add_argument(
            "--company",
            action="append",
            default=[],
            metavar="[CODE=FILE | CODE]",
            help="company of an export without DATAAREAID: CODE=FILE for that file (repeat for each, "
            "e.g. --company DEMF=customers_demf.csv), or CODE alone for every file not named",
        )
        parser.add_argument("--date-order", default="mdy", choices=["mdy", "dmy", "ymd"])
        parser.add_argument("--report", metavar="R.json", help="write the full report here")
        parser.add_argument("--missing", metavar="OUT.csv", help="our rows that did not arrive, same shape")

    def handle(self, *args: Any, **o: Any) -> None:
        for path in (o["report"], o["missing"]):
            if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
                raise EngineError(f"the folder of {path!r} does not exist: create it or choose another path")
        company, companies = _companies(o["company"], o["fno"])
        result = reconcile_sync(
            o["table"],
            o["ours"],
            o["fno"],
            entity=o["entity"],
            company=company,
            companies=companies,
            date_order=o["date_order"],
        )
        if o["missing"]:
            result.write_missing(o["missing"])
        if o["report"]:
            _write_json(o["report"], result.to_dict())
        sys.stdout.write(result.summary_text() + "\n")
        if not result.ok:
            raise SystemExit(1)


def _companies(given: list[str], files: list[str]) -> tuple[str, dict[str, str]]:
    """--company values: CODE=FILE per input file, one CODE alone for the others."""
    default, per_file = "", {}
    for value in given:
        code, _, file = value.partition("=")
        if not file:
            if default:
                raise EngineError(
                    f"--company {value!r}: give one company for all files, or CODE=FILE for each"
                )
            default = code
            continue
        matches = [f for f in files if f == file or os.path.basename(f) == os.path.basename(file)]
        if not matches:
            raise EngineError(
                f"--company {value!r} names {file!r}, which is not one of the F&O exports given: "
                f"{', '.join(files)}"
            )
        per_file |= {f: code for f in matches}
    return default, per_file


def _write_json(path: str, data: dict[str, Any]) -> None:
    out = AtomicFile(path)
    try:
        with open(out.tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
        out.commit()
    except BaseException:
        out.abort()
        raise
