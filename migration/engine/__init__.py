"""The P2C -> dual-write transformation engine (pure Python, no Django).

The web app and the manage.py commands call only what is exported here:

- ``transform_file(table, input_path, output_path, settings, *, report_path=None,
  progress=None, merge_source_path=None) -> Report``: one export through its table's rules;
  ``progress(rows_done, rows_total_or_None)`` is called after every batch; ``Report.to_dict()``
  is the contract's JSON, ``Report.issues.iter_dicts()`` streams the row issues.
- ``inspect_file(path, table=None, settings=None) -> Inspection``: detected table, matched and
  missing columns, row count, issue counts by code and a 20-row preview, for the upload step.
- ``check_exports(paths, company="", company_rule=None) -> CheckResult`` (``to_dict()``,
  ``summary_text()``) and ``find_exports(folder)``: the step-2 exports checked together.
- ``TransformSettings`` / ``CompanyRule`` and the constants the settings form offers.

Every fatal problem is an ``EngineError`` whose message is one line saying what to do.
"""

from .check import CheckResult, check_exports, find_exports
from .errors import EngineError
from .inspect import Inspection, inspect_file
from .options import (
    COUNTRY_MODES,
    DATE_ORDERS,
    HEADER_MODES,
    LANGUAGE_CODES,
    ORDER_TYPES,
    RELATIONSHIP_TYPES,
    TABLES,
    CompanyRule,
    TableInfo,
    TransformSettings,
)
from .report import ISSUE_CODES, Report
from .transform import transform_file

__all__ = [
    "COUNTRY_MODES",
    "DATE_ORDERS",
    "HEADER_MODES",
    "ISSUE_CODES",
    "LANGUAGE_CODES",
    "ORDER_TYPES",
    "RELATIONSHIP_TYPES",
    "TABLES",
    "CheckResult",
    "CompanyRule",
    "EngineError",
    "Inspection",
    "Report",
    "TableInfo",
    "TransformSettings",
    "check_exports",
    "find_exports",
    "inspect_file",
    "transform_file",
]
