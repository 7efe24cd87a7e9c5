"""manage.py p2c_verify TABLE EXPECTED ACTUAL [ACTUAL ...] [--expected MORE ...] [--report R.json]
[--issues FILE].

Compares what was meant to be imported (our filled output) with an export taken after the
import, by record GUID, on the table's target columns (p2c-rules.md, "Verifying the import").
Exit 0: every expected record matches; 1: some differ or are missing (the report lists them);
2: a fatal input problem (one line on stderr).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser

from migration.engine import TABLES, EngineError
from migration.engine.step8.verify import table_columns, verify_import

from ._p2c_cli import EngineCommand


class Command(EngineCommand):
    help = "Verify an import: our output against an export taken after it. Exit 0 match, 1 differ, 2 error."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("table", choices=list(TABLES), metavar="TABLE", help=", ".join(TABLES))
        parser.add_argument("expected", metavar="EXPECTED", help="the output that was imported (.csv/.xlsx)")
        parser.add_argument(
            "actual",
            metavar="ACTUAL",
            nargs="+",
            help="the table exported after the import (one or more parts)",
        )
        parser.add_argument(
            "--expected",
            dest="more_expected",
            metavar="MORE",
            action="append",
            default=[],
            help="another import file of the table (a re-export in parts gives one per part); repeat it",
        )
        parser.add_argument("--report", metavar="REPORT.json", help="write every record that is not a match")
        parser.add_argument(
            "--issues",
            metavar="AGAIN",
            help="write the EXPECTED rows to import again (same format as EXPECTED)",
        )

    def handle(self, *args: Any, **o: Any) -> None:
        if not TABLES[o["table"]].transforms:
            raise EngineError(
                f"{TABLES[o['table']].export_name}: nothing was imported for it; nothing to verify"
            )
        columns, guid_names = table_columns(o["table"])
        expected = [o["expected"], *o["more_expected"]]
        result = verify_import(
            expected if len(expected) > 1 else expected[0],
            o["actual"],
            columns,
            guid_names=guid_names,
            issues_path=o["issues"],
        )
        if o["report"]:
            result.write_json(o["report"])
        sys.stdout.write(f"{o['table']}: {result.summary()}\n")
        for company, c in sorted(result.by_company.items()):
            counts = ", ".join(f"{c[k]:,} {k}" for k in ("match", "differs", "missing", "unexpected"))
            sys.stdout.write(f"  {company or '(no company)'}: {counts}\n")
        if result.issues_file:
            sys.stdout.write(
                f"  {result.issues_rows:,} rows to import again written to {result.issues_file}\n"
            )
        sys.stdout.flush()
        if not result.ok:
            raise SystemExit(1)
