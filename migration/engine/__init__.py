"""The P2C -> dual-write transformation engine (pure Python, no Django)."""

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

__all__ = [
    "COUNTRY_MODES",
    "DATE_ORDERS",
    "HEADER_MODES",
    "LANGUAGE_CODES",
    "ORDER_TYPES",
    "RELATIONSHIP_TYPES",
    "TABLES",
    "CompanyRule",
    "EngineError",
    "TableInfo",
    "TransformSettings",
]
