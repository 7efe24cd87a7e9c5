import pytest

from migration.engine import (
    LANGUAGE_CODES,
    TABLES,
    CompanyRule,
    EngineError,
    TransformSettings,
)


def test_it_lists_the_nine_tables_in_contract_order():
    assert list(TABLES) == [
        "account", "contact", "order", "order_products", "quote", "quote_products",
        "invoice", "invoice_products", "products",
    ]  # fmt: skip
    assert [t.key for t in TABLES.values() if not t.transforms] == ["invoice", "invoice_products", "products"]


def test_it_has_42_language_codes_matching_the_reference_anchors():
    assert len(LANGUAGE_CODES) == len(set(LANGUAGE_CODES)) == 42
    base = 192350000
    assert base + LANGUAGE_CODES.index("en-us") == 192350015
    assert base + LANGUAGE_CODES.index("en-gb") == 192350009
    assert base + LANGUAGE_CODES.index("de") == 192350004
    assert base + LANGUAGE_CODES.index("zh-hans") == 192350041


def test_it_defaults_to_the_contract_settings():
    s = TransformSettings(company="USMF")
    assert (s.customer_group, s.relationship_type, s.language, s.order_type) == (
        "10",
        "Customer",
        "en-us",
        "Item based",
    )
    assert (s.date_order, s.country, s.headers, s.party_numbers_path) == ("auto", "keep", "display", None)


def test_it_canonicalizes_choice_spelling():
    s = TransformSettings(
        company="USMF", language="EN-GB", relationship_type="customer", order_type="item BASED"
    )
    assert (s.language, s.relationship_type, s.order_type) == ("en-gb", "Customer", "Item based")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"company": ""}, "legal entity"),
        ({"company": "TOOLONG"}, "legal entity"),
        ({"company": "USMF", "language": "xx"}, "unknown language"),
        ({"company": "USMF", "date_order": "myd"}, "unknown date order"),
        ({"company": "USMF", "country": "iso3"}, "unknown country"),
        ({"company": "USMF", "headers": "both"}, "unknown headers"),
        ({"company": "USMF", "customer_group": ""}, "customer group"),
        ({"company": "USMF", "relationship_type": "Friend"}, "unknown relationship type"),
        ({"company": "USMF", "order_type": "Any"}, "unknown order type"),
    ],
)
def test_it_refuses_bad_settings_with_one_line(kwargs, fragment):
    with pytest.raises(EngineError) as e:
        TransformSettings(**kwargs)
    assert fragment in str(e.value)
    assert "\n" not in str(e.value)


def test_it_validates_the_company_rule():
    with pytest.raises(EngineError):
        CompanyRule("Owning Business Unit", {})
    with pytest.raises(EngineError):
        CompanyRule("Owning Business Unit", {"Contoso US": "not a code"})
    rule = CompanyRule("Owning Business Unit", {" Contoso US ": "USMF"})
    assert rule.lookup() == {"contoso us": "USMF"}


def test_it_reports_settings_as_a_dict():
    d = TransformSettings(company="USMF", party_numbers_path="/x.csv").to_dict()
    assert d["company"] == "USMF" and d["account_numbers_customized"] is True


def test_it_builds_the_same_settings_from_their_dict():
    rule = CompanyRule("Business Unit", {"Contoso US": "USMF"})
    s = TransformSettings(company="USMF", company_rule=rule, language="de", country="iso2", headers="logical")
    again = TransformSettings.from_dict(s.to_dict())
    assert again == s and again.company_rule.mapping == rule.mapping


def test_it_takes_defaults_for_settings_a_stored_dict_lacks():
    s = TransformSettings.from_dict({"company": "DEMF", "company_rule": None}, party_numbers_path="/f.csv")
    assert (s.company, s.headers, s.party_numbers_path) == ("DEMF", "display", "/f.csv")
