"""The P2C -> dual-write transformation engine (pure Python, no Django).

The web app and the manage.py commands call only what is exported here.
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
