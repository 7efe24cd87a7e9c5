"""The P2C -> dual-write transformation engine (pure Python, no Django).

The web app and the manage.py commands call only what is exported here:

- ``transform_file(table, input_path, output_path, settings, *, report_path=None,
  progress=None, merge_source_path=None) -> Report``: one export through its table's rules
  (``merge_source_path``: merge mode's step-2 export, one path or the list of its parts);
  ``progress(rows_done, rows_total_or_None)`` is called after every batch; ``Report.to_dict()``
  is the contract's JSON, ``Report.issues.iter_dicts()`` streams the row issues.
- ``transform_parts(table, inputs, outputs, settings, *, report_path=None, progress=None,
  header_paths=None, merge_source_paths=None) -> Report``: an export in several parts (one output
  per part, one report with ``parts``); ``header_paths``: the order (quote) export whose companies
  lines take; ``merge_source_paths``: the import route with a re-export in parts, each filled in
  place from the step-2 export (one path or its parts).
  ``part_output_name(input, ext)`` names a part's output; ``column_difference`` says how two
  parts' columns differ.
- ``inspect_file(path, table=None, settings=None) -> Inspection``: detected table, matched and
  missing columns, row count, issue counts by code and a 20-row preview, for the upload step.
- ``check_exports(paths, company="", company_rule=None) -> CheckResult`` (``to_dict()``,
  ``summary_text()``) and ``find_exports(folder)``: the step-2 exports checked together.
- ``TransformSettings`` (``TransformSettings.from_dict`` for a stored snapshot) / ``CompanyRule``
  and the constants the settings form offers.
- ``check_csv_head(sample, whole)``: a CSV's header checks (columns, header sizes) from its first
  ``SAMPLE_BYTES``, so the web app refuses a hostile file before storing it;
  ``check_workbook_parts(file)``: the same for a workbook (no DTD in any XML part).
- ``load_party_numbers(path)``: the F&O customer list behind "account numbers customized";
  ``sha256_file(path)``: a file's SHA-256.
- ``write_rows(input_path, output_path, rows, as_text=False)``: chosen data rows of an export,
  same shape (the issues file, written as xlsx of text cells by the web app);
  ``STEP2_ONLY_CODES``: issue codes whose row is a step-2 export row, not an input row.

Step 8's import route:

- ``split_for_import(path, part_mb=8, out_dir=None) -> [PackPart]``: an import file cut to the
  Import data wizard's limit; ``write_manifest(folder, [PackFile])`` and ``IMPORT_ORDER``: a pack.
- ``verify_import(expected, actuals, columns, guid_names=..., issues_path=None) -> VerifyResult``
  with ``table_columns(table)``: an export taken after the import against the import file.

Step 9, after initial sync:

- ``reconcile_sync(table, ours, fno, *, entity=None, company="", date_order="mdy") ->
  Reconciliation`` (step 9: our output against F&O's export after initial sync; ``RECONCILE_SPECS``
  names each table's F&O entities) and ``triage_errors(errors, *, outputs=None, table=None) ->
  Triage`` (initial-sync errors by cause).

Every fatal problem is an ``EngineError`` whose message is one line saying what to do.
"""

from .errors import EngineError
from .files.formulas import formula_like_text
from .files.party_numbers import load_party_numbers
from .files.reading import SAMPLE_BYTES, check_csv_head, check_workbook_parts, sha256_file
from .rules.layout import column_difference
from .rules.options import (
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
from .rules.report import STEP2_ONLY_CODES, Report, csv_rows
from .rules.schema import Table
from .step2.check import CheckResult, check_exports, find_exports
from .step2.inspect import Inspection, inspect_file
from .step8.extract import RowNotes, row_notes, write_rows
from .step8.packs import IMPORT_ORDER, PackFile, PackPart, split_for_import, write_manifest
from .step8.parts import part_output_name, transform_parts
from .step8.transform import transform_file
from .step8.verify import VerifyResult, table_columns, verify_import
from .step9.error_logs import TEXT_SUFFIXES, error_log_form
from .tables import ISSUE_CODES, TABLES

# Step 9's tools stand on pandas: imported when first used, so that a process that never
# reconciles (most commands, a web worker until step 9 is opened) does not load it.
_LAZY = {
    "RECONCILED_TABLES": ("step9.reconcile", "RECONCILED_TABLES"),
    "RECONCILE_SPECS": ("step9.reconcile", "SPECS"),
    "Reconciliation": ("step9.reconcile", "Reconciliation"),
    "reconcile_sync": ("step9.reconcile", "reconcile_sync"),
    "check_fno_export": ("step9.reconcile", "check_fno_export"),
    "Triage": ("step9.triage", "Triage"),
    "triage_errors": ("step9.triage", "triage_errors"),
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    module, attr = _LAZY[name]
    return getattr(import_module(f"{__name__}.{module}"), attr)


__all__ = [
    "COUNTRY_MODES",
    "DATE_ORDERS",
    "HEADER_MODES",
    "IMPORT_ORDER",
    "ISSUE_CODES",
    "LANGUAGE_CODES",
    "ORDER_TYPES",
    "RECONCILED_TABLES",
    "RECONCILE_SPECS",
    "RELATIONSHIP_TYPES",
    "SAMPLE_BYTES",
    "STEP2_ONLY_CODES",
    "TABLES",
    "TEXT_SUFFIXES",
    "CheckResult",
    "CompanyRule",
    "EngineError",
    "Inspection",
    "PackFile",
    "PackPart",
    "Reconciliation",
    "RelationshipTypeRule",
    "Report",
    "RowNotes",
    "Table",
    "TransformSettings",
    "Triage",
    "VerifyResult",
    "check_csv_head",
    "check_exports",
    "check_fno_export",
    "check_workbook_parts",
    "column_difference",
    "csv_rows",
    "error_log_form",
    "find_exports",
    "formula_like_text",
    "inspect_file",
    "load_party_numbers",
    "part_output_name",
    "reconcile_sync",
    "row_notes",
    "sha256_file",
    "split_for_import",
    "table_columns",
    "transform_file",
    "transform_parts",
    "triage_errors",
    "verify_import",
    "write_manifest",
    "write_rows",
]
