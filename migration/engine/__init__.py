"""The P2C -> dual-write transformation engine (pure Python, no Django).

The web app and the manage.py commands call only what is exported here:

- ``transform_file(table, input_path, output_path, settings, *, report_path=None,
  progress=None, merge_source_path=None) -> Report``: one export through its table's rules;
  ``progress(rows_done, rows_total_or_None)`` is called after every batch; ``Report.to_dict()``
  is the contract's JSON, ``Report.issues.iter_dicts()`` streams the row issues.
- ``transform_parts(table, inputs, outputs, settings, *, report_path=None, progress=None,
  header_paths=None) -> Report``: an export in several parts (one output per part, one report with
  ``parts``); ``header_paths``: the order (quote) export whose companies lines take.
  ``part_output_name(input, ext)`` names a part's output; ``column_difference`` says how two
  parts' columns differ.
- ``inspect_file(path, table=None, settings=None) -> Inspection``: detected table, matched and
  missing columns, row count, issue counts by code and a 20-row preview, for the upload step.
- ``check_exports(paths, company="", company_rule=None) -> CheckResult`` (``to_dict()``,
  ``summary_text()``) and ``find_exports(folder)``: the step-2 exports checked together.
- ``TransformSettings`` (``TransformSettings.from_dict`` for a stored snapshot) / ``CompanyRule``
  and the constants the settings form offers.
- ``load_party_numbers(path)``: the F&O customer list behind "account numbers customized".
- ``write_rows(input_path, output_path, rows)``: chosen data rows of an export, same shape (the
  issues file); ``STEP2_ONLY_CODES``: issue codes whose row is a step-2 export row, not an input row.

Every fatal problem is an ``EngineError`` whose message is one line saying what to do.
"""

from .check import CheckResult, check_exports, find_exports
from .errors import EngineError
from .extract import write_rows
from .inspect import Inspection, inspect_file
from .options import (
    COUNTRY_MODES,
    DATE_ORDERS,
    HEADER_MODES,
    LANGUAGE_CODES,
    ORDER_TYPES,
    RELATIONSHIP_TYPES,
    CompanyRule,
    RelationshipTypeRule,
    TransformSettings,
)
from .parts import column_difference, part_output_name, transform_parts
from .party_numbers import load_party_numbers
from .report import STEP2_ONLY_CODES, Report
from .schema import Table
from .tables import ISSUE_CODES, TABLES
from .transform import transform_file

__all__ = [
    "COUNTRY_MODES",
    "DATE_ORDERS",
    "HEADER_MODES",
    "ISSUE_CODES",
    "LANGUAGE_CODES",
    "ORDER_TYPES",
    "RELATIONSHIP_TYPES",
    "STEP2_ONLY_CODES",
    "TABLES",
    "CheckResult",
    "CompanyRule",
    "EngineError",
    "Inspection",
    "RelationshipTypeRule",
    "Report",
    "Table",
    "TransformSettings",
    "check_exports",
    "column_difference",
    "find_exports",
    "inspect_file",
    "load_party_numbers",
    "part_output_name",
    "transform_file",
    "transform_parts",
    "write_rows",
]
