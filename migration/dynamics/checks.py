"""What the Sales environment says about the checklists of steps 3 to 7: each finding names the
step, its checklist row and what to do. Read only; a person still ticks the row."""

from dataclasses import dataclass

from .webapi import WebApiClient

P2C_TABLES = ("account", "contact", "salesorder", "quote")  # where the P2C solution added msdynce_*
DUAL_WRITE_TABLES = ("account", "contact", "salesorder", "salesorderdetail", "quote", "quotedetail")
PUBLISHED = 1  # duplicaterule statecode: 0 unpublished, 1 published
# The checklist rows the check speaks for, with what it found when all is well.
CHECKED_ITEMS = {
    "uninstall-p2c": "No msdynce_* column left on account, contact, salesorder, quote.",
    "install-orchestration": "msdyn_company is on the six transformed tables.",
    "install-link": "Every legal entity of the migration is a company in Dataverse.",
    "dup-all-disabled": "No duplicate detection rule is published.",
}


@dataclass(frozen=True)
class Finding:
    step: int
    item: str  # the checklist row's key
    message: str


def _columns(client: WebApiClient, entity: str) -> set[str]:
    path = f"EntityDefinitions(LogicalName='{entity}')/Attributes"
    return {a["LogicalName"] for a in client.get_json(path, params={"$select": "LogicalName"})["value"]}


def p2c_columns_left(client: WebApiClient) -> list[Finding]:
    """Step 3: the Prospect to cash solution's columns are gone once it is uninstalled."""
    findings = []
    for entity in P2C_TABLES:
        left = sorted(c for c in _columns(client, entity) if c.startswith("msdynce_"))
        if left:
            findings.append(
                Finding(
                    3,
                    "uninstall-p2c",
                    f"{entity} still has the P2C solution's columns "
                    f"{', '.join(left)}: uninstall the Prospect to cash solution.",
                )
            )
    return findings


def dual_write_columns_missing(client: WebApiClient) -> list[Finding]:
    """Step 4: dual-write's solutions add msdyn_company to every table it maps."""
    missing = [e for e in DUAL_WRITE_TABLES if "msdyn_company" not in _columns(client, e)]
    if not missing:
        return []
    return [
        Finding(
            4,
            "install-orchestration",
            f"{', '.join(missing)} ha{'s' if len(missing) == 1 else 've'} no "
            "msdyn_company column: install the dual-write core and application solutions.",
        )
    ]


def companies_missing(client: WebApiClient, companies: list[str]) -> list[Finding]:
    """Step 5: each legal entity of the migration is a company in Dataverse (cdm_companies)."""
    known = {
        r["cdm_companycode"].upper()
        for p in client.pages("cdm_companies", select=["cdm_companycode"])
        for r in p.records
        if r.get("cdm_companycode")
    }
    missing = [c for c in companies if c.upper() not in known]
    if not missing:
        return []
    return [
        Finding(
            5,
            "install-link",
            f"Companies {', '.join(missing)} are not in Dataverse (cdm_companies): "
            "link the environments and run the Legal entities map's initial sync.",
        )
    ]


def duplicate_rules_published(client: WebApiClient) -> list[Finding]:
    """Step 7: no published duplicate detection rule may stay during the initial sync."""
    rules = [r for p in client.pages("duplicaterules", select=["name", "statecode"]) for r in p.records]
    published = sorted(r["name"] for r in rules if r.get("statecode") == PUBLISHED)
    if not published:
        return []
    return [
        Finding(
            7,
            "dup-all-disabled",
            f"{len(published)} duplicate detection rule(s) published: "
            f"{', '.join(published)}. Unpublish them before the initial sync.",
        )
    ]


def environment_findings(client: WebApiClient, *, companies: list[str]) -> list[Finding]:
    """Every finding, step by step; ApiError/CannotConnect when the environment cannot be read."""
    return [
        *p2c_columns_left(client),
        *dual_write_columns_missing(client),
        *companies_missing(client, companies),
        *duplicate_rules_published(client),
    ]
