"""manage.py p2c_transform TABLE INPUT OUTPUT [options]: the step-8 transformation (p2c-rules.md)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser

from migration.engine import (
    COUNTRY_MODES,
    DATE_ORDERS,
    HEADER_MODES,
    TABLES,
    EngineError,
    TransformSettings,
    transform_file,
)
from migration.engine.packs import split_for_import

from ._p2c_cli import EngineCommand


def _pairs(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        value, sep, code = item.rpartition("=")
        if not sep or not value.strip():
            raise EngineError(f"--company-map {item!r} is not VALUE=CODE, e.g. 'Contoso US=USMF'")
        mapping[value.strip()] = code.strip()
    return mapping


class Command(EngineCommand):
    help = "Transform one P2C export to dual-write's columns (step 8). Exit 0: written; 2: fatal problem."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("table", choices=list(TABLES), metavar="TABLE", help=", ".join(TABLES))
        parser.add_argument("input", metavar="INPUT", help="the export, .csv or .xlsx")
        parser.add_argument(
            "output", metavar="OUTPUT", help="the result; its extension (.csv/.xlsx) picks the format"
        )
        parser.add_argument("--company", required=True, help="legal entity code, e.g. USMF")
        parser.add_argument("--customer-group", default="10")
        parser.add_argument("--relationship-type", default="Customer")
        parser.add_argument("--language", default="en-us", help="an msdyn_language code")
        parser.add_argument("--order-type", default="Item based")
        parser.add_argument("--date-order", default="auto", help="|".join(DATE_ORDERS))
        parser.add_argument("--country", default="keep", help="|".join(COUNTRY_MODES))
        parser.add_argument("--headers", default="display", help="|".join(HEADER_MODES))
        parser.add_argument("--party-numbers", metavar="FNO_CUSTOMERS", help="F&O Customers V3 export")
        parser.add_argument(
            "--company-column", help="company rule: the source column holding the business unit"
        )
        parser.add_argument("--company-map", action="append", default=[], metavar="VALUE=CODE")
        parser.add_argument("--merge-source", metavar="STEP2_EXPORT", help="merge mode: the step-2 export")
        parser.add_argument("--report", metavar="REPORT.json")
        parser.add_argument(
            "--part-mb",
            type=float,
            metavar="N",
            help="when OUTPUT is larger than N MB (the Import data wizard takes 8), also write "
            "OUTPUT_part01, OUTPUT_part02, ... each at most N MB, to import in that order",
        )

    def handle(self, *args: Any, **o: Any) -> None:
        rule = None
        if o["company_column"] or o["company_map"]:
            rule = {"source_column": o["company_column"] or "", "mapping": _pairs(o["company_map"])}
        settings = TransformSettings.from_dict(
            {**o, "company_rule": rule}, party_numbers_path=o["party_numbers"]
        )
        report = transform_file(
            o["table"],
            o["input"],
            o["output"],
            settings,
            report_path=o["report"],
            merge_source_path=o["merge_source"],
        )
        if o["part_mb"] is not None:
            self._split(report, o)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(report.issues.counts.items())) or "none"
        sys.stdout.write(
            f"{o['table']}: {report.rows_out} rows written to {o['output']}; "
            f"{report.errors} errors, {report.warnings} warnings ({counts})\n"
        )

    def _split(self, report: Any, o: dict[str, Any]) -> None:
        """Cut the output to the Import data wizard's limit; OUTPUT itself stays, for p2c_verify."""
        parts = split_for_import(o["output"], part_mb=o["part_mb"])
        if parts[0].part is None:
            return
        report.import_parts = [
            {"file": p.file, "part": p.part, "rows": p.rows, "first_row": p.first_row,
             "last_row": p.last_row, "bytes": p.size, "sha256": p.sha256}
            for p in parts
        ]  # fmt: skip
        if o["report"]:
            report.write_json(o["report"])
        sys.stdout.write(
            f"{o['output']} is larger than {o['part_mb']:g} MB: import its {len(parts)} parts in order, "
            f"{parts[0].file} to {parts[-1].file}\n"
        )
