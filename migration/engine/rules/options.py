"""Settings of a transformation run and the constants the contract names.

Pure Python: the web app's settings form (step 8) and the command line both
build a `TransformSettings`; validation lives here so both refuse the same
values with the same message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import EngineError

# msdyn_language choices, index i = choice value 192350000 + i. Source: the
# LANGUAGEID value map of "CDS Parties (msdyn_parties)" in MicrosoftDocs
# dynamics-365-unified-operations-public, dual-write/mapping-reference.md
# (ar=192350000, ar-ae=…001, de=…004, en-gb=…009, en-us=…015, zh-hans=…041).
LANGUAGE_CODES: tuple[str, ...] = (
    "ar", "ar-ae", "cs", "da", "de", "de-at", "de-ch", "en-au", "en-ca", "en-gb",
    "en-ie", "en-in", "en-my", "en-nz", "en-sg", "en-us", "en-za", "es", "es-mx", "et",
    "fi", "fr", "fr-be", "fr-ca", "fr-ch", "hu", "is", "it", "it-ch", "ja",
    "lt", "lv", "nb-no", "nl", "nl-be", "pl", "pt-br", "ru", "sv", "th",
    "tr", "zh-hans",
)  # fmt: skip

DATE_ORDERS = ("auto", "mdy", "dmy", "ymd")
COUNTRY_MODES = ("keep", "iso2", "dualwrite")
HEADER_MODES = ("display", "logical")

# customertypecode labels (reference.md); only Customer (3) syncs to F&O.
RELATIONSHIP_TYPES = (
    "Competitor", "Consultant", "Customer", "Investor", "Partner", "Influencer",
    "Press", "Prospect", "Reseller", "Supplier", "Vendor", "Other",
)  # fmt: skip
# msdyn_ordertype labels; dual-write syncs only Item based (192350000).
ORDER_TYPES = ("Item based", "Service-Maintenance Based")

# F&O legal entity ids (DataAreaId) are at most 4 characters; customer group
# ids (CustGroupId) at most 10.
_COMPANY_RE = re.compile(r"^[A-Za-z0-9]{1,4}$")
_CUSTOMER_GROUP_MAX = 10


def check_company(code: str, what: str = "company") -> None:
    if not isinstance(code, str) or not _COMPANY_RE.match(code):
        raise EngineError(
            f"{what} {code!r} is not a legal entity code: use the 1-4 letter/digit code of the "
            "Finance and Operations legal entity, e.g. USMF"
        )


@dataclass(frozen=True)
class CompanyRule:
    """Company per row: source column value -> legal entity code (P2C business units)."""

    source_column: str
    mapping: dict[str, str] = field(default_factory=dict, hash=False)
    # The column per table, where a table's export names it otherwise (no column is in every export).
    columns: dict[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.source_column, str) or not self.source_column.strip():
            raise EngineError("company rule: name the source column that holds the business unit")
        if not self.mapping:
            raise EngineError("company rule: give at least one value -> company code pair")
        for value, code in self.mapping.items():
            check_company(code, what=f"company rule value {value!r} maps to")

    def lookup(self) -> dict[str, str]:
        """Keys as the rule matches them: trimmed and case-insensitive."""
        return {k.strip().casefold(): v for k, v in self.mapping.items()}

    def column_for(self, table: str) -> str:
        """The column this table's export holds the value in."""
        return (self.columns.get(table) or "").strip() or self.source_column

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_column": self.source_column,
            "mapping": dict(self.mapping),
            "columns": dict(self.columns),
        }

    @classmethod
    def from_dict(cls, rule: Mapping[str, Any]) -> CompanyRule:
        return cls(rule["source_column"], rule["mapping"], dict(rule.get("columns") or {}))


@dataclass(frozen=True)
class RelationshipTypeRule:
    """Relationship type per row: source column value -> relationship type label (e.g. a P2C
    "Relationship Type" or category column); rows whose value has no entry take the setting."""

    source_column: str
    mapping: dict[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.source_column, str) or not self.source_column.strip():
            raise EngineError("relationship type rule: name the source column to read")
        if not self.mapping:
            raise EngineError("relationship type rule: give at least one value -> relationship type pair")
        canon = {
            value: _choose(label, RELATIONSHIP_TYPES, f"relationship type for {value!r}")
            for value, label in self.mapping.items()
        }
        object.__setattr__(self, "mapping", canon)

    def lookup(self) -> dict[str, str]:
        return {k.strip().casefold(): v for k, v in self.mapping.items()}


# What a legal entity may set for itself; every other setting is the migration's.
PER_COMPANY_SETTINGS = ("customer_group", "language")


def _check_customer_group(group: object) -> str:
    if not isinstance(group, str) or not group.strip() or len(group.strip()) > _CUSTOMER_GROUP_MAX:
        raise EngineError(
            f"customer group {group!r} is not valid: use the Customer Group Id from Finance and "
            f"Operations (1-{_CUSTOMER_GROUP_MAX} characters), e.g. 10"
        )
    return group.strip()


def _per_company(companies: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """{company: {customer_group, language}} validated; empty values mean "the migration's"."""
    out: dict[str, dict[str, str]] = {}
    for code, values in (companies or {}).items():
        check_company(code, what="per-company settings: company")
        own: dict[str, str] = {}
        for name, value in (values or {}).items():
            if name not in PER_COMPANY_SETTINGS:
                raise EngineError(
                    f"per-company setting {name!r} is unknown: use {', '.join(PER_COMPANY_SETTINGS)}"
                )
            if value in (None, ""):
                continue
            if name == "customer_group":
                own[name] = _check_customer_group(value)
            else:
                own[name] = _choose(value, LANGUAGE_CODES, f"language of {code}")
        if own:
            out[code.upper()] = own
    return out


def _choose(value: str, allowed: tuple[str, ...], setting: str) -> str:
    """Return the canonical spelling of value from allowed (case-insensitive) or fail."""
    if isinstance(value, str):
        for choice in allowed:
            if choice.casefold() == value.strip().casefold():
                return choice
    raise EngineError(f"unknown {setting} {value!r}: use one of {', '.join(allowed)}")


@dataclass(frozen=True)
class TransformSettings:
    company: str
    company_rule: CompanyRule | None = None
    customer_group: str = "10"
    relationship_type: str = "Customer"
    party_numbers_path: str | None = None  # None: account numbers not customized
    language: str = "en-us"
    order_type: str = "Item based"
    date_order: str = "auto"
    country: str = "keep"
    headers: str = "display"
    # Customer group and language per legal entity: {company: {setting: value}}; a row takes its
    # company's values, else these.
    companies: Mapping[str, Mapping[str, str]] = field(default_factory=dict, hash=False)
    relationship_type_rule: RelationshipTypeRule | None = None

    def __post_init__(self) -> None:
        check_company(self.company)
        group = _check_customer_group(self.customer_group)
        object.__setattr__(self, "companies", _per_company(self.companies))
        if self.party_numbers_path is not None and not str(self.party_numbers_path).strip():
            raise EngineError("party numbers: give the path of the Finance and Operations customer list")
        # Canonical spellings, so the report and the output use the choice labels exactly.
        canon = {
            "customer_group": group,
            "relationship_type": _choose(self.relationship_type, RELATIONSHIP_TYPES, "relationship type"),
            "language": _choose(self.language, LANGUAGE_CODES, "language"),
            "order_type": _choose(self.order_type, ORDER_TYPES, "order type"),
            "date_order": _choose(self.date_order, DATE_ORDERS, "date order"),
            "country": _choose(self.country, COUNTRY_MODES, "country setting"),
            "headers": _choose(self.headers, HEADER_MODES, "headers setting"),
        }
        for name, value in canon.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_dict(
        cls, values: Mapping[str, Any], *, party_numbers_path: str | None = None
    ) -> TransformSettings:
        """Settings named as `to_dict()` names them (a job's snapshot, the command line's options).

        Keys that are not settings are ignored; a missing optional setting takes its default.
        The company rule is a {"source_column", "mapping"} dict or None.
        """
        rule = values.get("company_rule")
        kind = values.get("relationship_type_rule")
        optional = {name: values[name] for name in _OPTIONAL_SETTINGS if name in values}
        return cls(
            company=values["company"],
            company_rule=CompanyRule.from_dict(rule) if rule else None,
            party_numbers_path=party_numbers_path,
            companies=values.get("companies") or {},
            relationship_type_rule=(
                RelationshipTypeRule(kind["source_column"], kind["mapping"]) if kind else None
            ),
            **optional,
        )

    def for_company(self, company: str, name: str) -> str:
        """Setting `name` (customer_group, language) as legal entity `company` has it."""
        return self.companies.get(company.upper(), {}).get(name) or getattr(self, name)

    def to_dict(self) -> dict[str, Any]:
        rule, kind = self.company_rule, self.relationship_type_rule
        return {
            "company": self.company,
            "company_rule": rule.to_dict() if rule else None,
            "customer_group": self.customer_group,
            "relationship_type": self.relationship_type,
            "account_numbers_customized": self.party_numbers_path is not None,
            "party_numbers_path": self.party_numbers_path,
            "language": self.language,
            "order_type": self.order_type,
            "date_order": self.date_order,
            "country": self.country,
            "headers": self.headers,
            "companies": {code: dict(values) for code, values in self.companies.items()},
            "relationship_type_rule": (
                {"source_column": kind.source_column, "mapping": dict(kind.mapping)} if kind else None
            ),
        }


_OPTIONAL_SETTINGS = (
    "customer_group", "relationship_type", "language", "order_type", "date_order", "country", "headers",
)  # fmt: skip
