"""manage.py p2c_triage ERRORS [ERRORS ...] [--output OUR_OUTPUT] [--report R.json]: initial-sync errors
classified by cause (Microsoft's troubleshooting articles), counted per cause and company, each tied to
its row in our step-8 output when given. Exit 0: triaged; 2: bad input, one line on stderr."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser

from migration.engine.step9.reconcile import RECONCILED_TABLES
from migration.engine.step9.triage import triage_errors

from ._p2c_cli import EngineCommand
from .p2c_reconcile import _write_json


class Command(EngineCommand):
    help = "Classify the errors of a dual-write initial sync by cause and say what to do for each."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "errors",
            nargs="+",
            metavar="ERRORS",
            help="the error log(s): CSV or xlsx with a message column, or text copied from the portal (.txt)",
        )
        parser.add_argument("--output", nargs="+", metavar="OUR_OUTPUT", help="our step-8 output (parts)")
        parser.add_argument(
            "--table", choices=list(RECONCILED_TABLES), help="the output's table if not detected"
        )
        parser.add_argument("--report", metavar="R.json")
        parser.add_argument("--errors-out", metavar="OUT.csv", help="the classified errors as a list")

    def handle(self, *args: Any, **o: Any) -> None:
        result = triage_errors(o["errors"], outputs=o["output"], table=o["table"], list_path=o["errors_out"])
        if o["report"]:
            _write_json(o["report"], result.to_dict())
        sys.stdout.write(result.summary_text() + "\n")
