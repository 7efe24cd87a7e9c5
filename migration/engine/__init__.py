"""The P2C -> dual-write transformation engine (pure Python, no Django).

The web app and the manage.py commands call only what is exported here.
"""

from .errors import EngineError
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
    "CompanyRule",
    "EngineError",
    "Report",
    "TableInfo",
    "TransformSettings",
    "transform_file",
]
