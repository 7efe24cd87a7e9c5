"""manage.py p2c_check DIR [--company USMF] [--json]: check a folder of step-2 exports together.

A table may be in several parts (order_1.xlsx, order_2.xlsx): they are checked as one table.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from django.core.management.base import CommandParser

from migration.engine import EngineError, check_exports, find_exports

from ._p2c_cli import EngineCommand


class Command(EngineCommand):
    help = "Check the step-2 exports in DIR together: orphan lines, contacts, duplicates, sync limits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "folder",
            metavar="DIR",
            help="folder with the exports (account.csv, order.xlsx, ...); parts by name (order_1.xlsx, "
            "order_2.xlsx) or by headers",
        )
        parser.add_argument("--company", default="", help="legal entity code the rows belong to, e.g. USMF")
        parser.add_argument("--json", action="store_true", help="print JSON instead of the summary")

    def handle(self, *args: Any, **o: Any) -> None:
        folder = o["folder"]
        if not os.path.isdir(folder):
            raise EngineError(f"{folder!r} is not a folder: give the folder that holds the exports")
        paths = find_exports(folder)
        if not paths:
            raise EngineError(
                f"no .csv or .xlsx export found in {folder!r}: name them account.csv, order.xlsx, ..."
            )
        result = check_exports(paths, company=o["company"])
        if o["json"]:
            sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n")
        else:
            sys.stdout.write(result.summary_text() + "\n")
