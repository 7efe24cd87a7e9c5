"""manage.py p2c_transform TABLE INPUT [INPUT ...] OUTPUT [options]: the step-8 transformation.

Several inputs are the parts of one export (Sales writes at most 100,000 rows per file): OUTPUT is
then a folder, each part gives one output named after it, and one report covers the table.
The import route's re-export may come in parts too (INPUT ...), and its step-2 export as well
(--merge-source once per part).
"""

from __future__ import annotations

import os
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
    part_output_name,
    split_for_import,
    transform_file,
    transform_parts,
)

from ._p2c_cli import EngineCommand


def _pairs(items: list[str], option: str = "--company-map", example: str = "'Contoso US=USMF'") -> dict:
    mapping = {}
    for item in items:
        value, sep, code = item.rpartition("=")
        if not sep or not value.strip():
            raise EngineError(f"{option} {item!r} is not VALUE=CODE, e.g. {example}")
        mapping[value.strip()] = code.strip()
    return mapping


def _per_company(o: dict[str, Any]) -> dict[str, dict[str, str]]:
    companies: dict[str, dict[str, str]] = {}
    for option, name in (("company_group", "customer_group"), ("company_language", "language")):
        flag = "--" + option.replace("_", "-")
        for code, value in _pairs(o[option], flag, "'DEMF=20'").items():
            companies.setdefault(code.upper(), {})[name] = value
    return companies


class Command(EngineCommand):
    help = "Transform one P2C export to dual-write's columns (step 8). Exit 0: written; 2: fatal problem."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("table", choices=list(TABLES), metavar="TABLE", help=", ".join(TABLES))
        parser.add_argument(
            "inputs", nargs="+", metavar="INPUT", help="the export, .csv or .xlsx; several: its parts"
        )
        parser.add_argument(
            "output",
            metavar="OUTPUT",
            help="the result; its extension (.csv/.xlsx) picks the format. With several inputs a folder: "
            "one output per part, named after it, and the table's report",
        )
        parser.add_argument(
            "--format",
            choices=("csv", "xlsx"),
            help="several inputs: the outputs' format (default: each part's)",
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
        parser.add_argument(
            "--company-group", action="append", default=[], metavar="CODE=GROUP", help="per legal entity"
        )
        parser.add_argument(
            "--company-language",
            action="append",
            default=[],
            metavar="CODE=LANGUAGE",
            help="per legal entity",
        )
        parser.add_argument(
            "--relationship-column", help="relationship type rule: the source column to read (accounts)"
        )
        parser.add_argument("--relationship-map", action="append", default=[], metavar="VALUE=TYPE")
        parser.add_argument(
            "--header-export",
            action="append",
            default=[],
            metavar="HEADER_EXPORT",
            help="lines: the order (quote) export, or each of its parts; lines take their header's company",
        )
        parser.add_argument(
            "--merge-source",
            action="append",
            default=[],
            metavar="STEP2_EXPORT",
            help="merge mode (the import route): the step-2 export, or each of its parts; INPUT is the "
            "re-export (or its parts), filled in place",
        )
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
        kind = None
        if o["relationship_column"] or o["relationship_map"]:
            kind = {
                "source_column": o["relationship_column"] or "",
                "mapping": _pairs(o["relationship_map"], "--relationship-map", "'Prospect=Prospect'"),
            }
        values = {**o, "company_rule": rule, "relationship_type_rule": kind, "companies": _per_company(o)}
        settings = TransformSettings.from_dict(values, party_numbers_path=o["party_numbers"])
        inputs = o["inputs"]
        if len(inputs) > 1 or o["header_export"]:
            report, where = self._parts(o, inputs, settings)
        else:
            report = transform_file(
                o["table"],
                inputs[0],
                o["output"],
                settings,
                report_path=o["report"],
                merge_source_path=o["merge_source"] or None,
            )
            where = o["output"]
            if o["part_mb"] is not None:
                self._split(report, o)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(report.issues.counts.items())) or "none"
        parts = f" from {len(inputs)} parts" if len(inputs) > 1 else ""
        sys.stdout.write(
            f"{o['table']}: {report.rows_out} rows{parts} written to {where}; "
            f"{report.errors} errors, {report.warnings} warnings ({counts})\n"
        )

    def _split(self, report: Any, o: dict[str, Any], outputs: list[str] | None = None) -> None:
        """Cut each output to the Import data wizard's limit; the outputs themselves stay, for
        p2c_verify."""
        listed = []
        for output in outputs or [o["output"]]:
            parts = split_for_import(output, part_mb=o["part_mb"])
            if parts[0].part is None:
                continue
            listed += [
                {"file": p.file, "part": p.part, "rows": p.rows, "first_row": p.first_row,
                 "last_row": p.last_row, "bytes": p.size, "sha256": p.sha256,
                 "output": os.path.basename(output)}
                for p in parts
            ]  # fmt: skip
            sys.stdout.write(
                f"{output} is larger than {o['part_mb']:g} MB: import its {len(parts)} parts in order, "
                f"{parts[0].file} to {parts[-1].file}\n"
            )
        if not listed:
            return
        report.import_parts = listed
        if o["report"]:
            report.write_json(o["report"])

    def _parts(self, o: dict[str, Any], inputs: list[str], settings: TransformSettings):
        if len(inputs) == 1:  # one input with --header-export: OUTPUT stays a file
            outputs, report_path = [o["output"]], o["report"]
        else:
            folder = o["output"]
            if os.path.splitext(folder)[1].lower() in (".csv", ".xlsx"):
                raise EngineError(f"with several inputs OUTPUT is a folder, not {folder!r}")
            os.makedirs(folder, exist_ok=True)
            ext = f".{o['format']}" if o["format"] else None
            outputs = [os.path.join(folder, part_output_name(p, ext)) for p in inputs]
            report_path = o["report"] or os.path.join(folder, f"{o['table']}_report.json")
        report = transform_parts(
            o["table"], inputs, outputs, settings, report_path=report_path, header_paths=o["header_export"],
            merge_source_paths=o["merge_source"] or None,
        )  # fmt: skip
        if o["part_mb"] is not None:
            self._split(report, {**o, "report": report_path}, outputs)
        return report, (o["output"] if len(inputs) > 1 else outputs[0])
