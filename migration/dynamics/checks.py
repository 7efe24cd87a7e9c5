"""What the Sales environment says about the checklists of steps 3 to 7 and step 8's readiness: each
finding names the step, its checklist row and what to do. Read only; a person still ticks the row."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .webapi import ApiError, WebApiClient

P2C_TABLES = ("account", "contact", "salesorder", "quote")  # where the P2C solution added msdynce_*
DUAL_WRITE_TABLES = ("account", "contact", "salesorder", "salesorderdetail", "quote", "quotedetail")
PUBLISHED = 1  # duplicaterule statecode: 0 unpublished, 1 published
# Step 6's row of the "Customer groups (msdyn_customergroups)" map (runbook.REFERENCE_MAPS).
CUSTOMER_GROUPS_ITEM = "ref-customer-groups--msdyn-customergroups"
# The nine tables step 8 writes (logical name -> the wizard's table key: step 8's rows are init-<key>).
STEP8_TABLES = {
    "account": "account", "contact": "contact", "salesorder": "order",
    "salesorderdetail": "order_products", "quote": "quote", "quotedetail": "quote_products",
    "invoice": "invoice", "invoicedetail": "invoice_products", "product": "products",
}  # fmt: skip
# statecode of closed records, which Dataverse keeps read-only: an order canceled (2), fulfilled (3)
# or invoiced (4); a quote active (1), won (2) or closed (3): only a draft quote (0) can be edited.
CLOSED_STATES = {"salesorder": (2, 3, 4), "quote": (1, 2, 3)}
# The checklist rows the check speaks for, with what it found when all is well.
CHECKED_ITEMS = {
    "uninstall-p2c": "No msdynce_* column left on account, contact, salesorder, quote.",
    "install-orchestration": "msdyn_company is on the six transformed tables.",
    "install-link": "Every legal entity of the migration is a company in Dataverse.",
    "dup-all-disabled": "No duplicate detection rule is published.",
    CUSTOMER_GROUPS_ITEM: "Every company has the customer group step 8's settings give it.",
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


def _company_ids(client: WebApiClient) -> dict[str, str]:
    """cdm_companyid -> company code (upper case)."""
    return {
        r["cdm_companyid"]: r["cdm_companycode"].upper()
        for p in client.pages("cdm_companies", select=["cdm_companyid", "cdm_companycode"])
        for r in p.records
        if r.get("cdm_companycode")
    }


def customer_groups_missing(client: WebApiClient, groups: Mapping[str, str]) -> list[Finding]:
    """Step 6: each company's customer group (step 8's settings: the company's own, else the
    migration's) is a row of msdyn_customergroups for that company. Customer groups are company
    data: dual-write stripes them with the msdyn_company lookup to cdm_company (dual-write docs,
    company-data.md "Company striping"), keyed by msdyn_groupid (CustCustomerGroup-msdyn-customergroups.md:
    CUSTOMERGROUPID = msdyn_groupid)."""
    if not groups:
        return []
    companies = _company_ids(client)
    present = {
        (companies.get(r.get("_msdyn_company_value"), ""), str(r.get("msdyn_groupid", "")).upper())
        for p in client.pages(
            "msdyn_customergroups", select=["msdyn_groupid", "_msdyn_company_value"], formatted_values=False
        )
        for r in p.records
    }
    missing = [f"{group} in {company}" for company, group in groups.items()
               if (company.upper(), group.upper()) not in present]  # fmt: skip
    if not missing:
        return []
    return [
        Finding(
            6,
            CUSTOMER_GROUPS_ITEM,
            f"Customer group {', '.join(missing)} is not in Dataverse (msdyn_customergroups): run the "
            "Customer groups map's initial sync, or choose a group the company has at step 8.",
        )
    ]


def _language_labels(client: WebApiClient) -> set[str]:
    """The labels of the order's msdyn_language choice, which are language codes (the map
    SalesOrderHeaderCDSEntity-salesorder.md: LANGUAGEID >< msdyn_language), read as a choice
    column's options (webapi/query-metadata-web-api: PicklistAttributeMetadata, OptionSet)."""
    path = (
        "EntityDefinitions(LogicalName='salesorder')/Attributes(LogicalName='msdyn_language')/"
        "Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
    )
    try:
        found = client.get_json(
            path, params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"}
        )
    except ApiError as error:
        if error.status == 404:  # no such column: step 4 reports dual-write missing
            return set()
        raise
    return {
        str(((o.get("Label") or {}).get("UserLocalizedLabel") or {}).get("Label", "")).lower()
        for o in (found.get("OptionSet") or {}).get("Options", [])
    }


def languages_missing(client: WebApiClient, languages: Mapping[str, str]) -> list[Finding]:
    """Each company's language (step 8's settings) is a choice of the order's msdyn_language. A
    choice is one list for every company, so a missing code is reported with the companies using it,
    on step 8's order row: the table whose language column the settings fill."""
    if not languages:
        return []
    labels = _language_labels(client)
    missing: dict[str, list[str]] = {}
    for company, language in languages.items():
        if language.lower() not in labels:
            missing.setdefault(language, []).append(company)
    return [
        Finding(
            8,
            "init-order",
            f"Language {language} (of {', '.join(companies)}) is not a choice of the order's "
            "msdyn_language in Dataverse: update the dual-write solutions, or choose another language "
            "at step 8.",
        )
        for language, companies in missing.items()
    ]


def _step8_item(entity: str) -> str:
    return f"init-{STEP8_TABLES[entity]}"


def _definitions(client: WebApiClient, entities: Iterable[str]) -> dict[str, dict]:
    """Each table's optimistic concurrency and privileges (EntityMetadata's
    IsOptimisticConcurrencyEnabled and Privileges, webapi/query-metadata-web-api), in one request."""
    wanted = " or ".join(f"LogicalName eq '{e}'" for e in entities)
    found = client.get_json(
        "EntityDefinitions",
        params={"$select": "LogicalName,IsOptimisticConcurrencyEnabled,Privileges", "$filter": wanted},
    )
    return {d["LogicalName"]: d for d in found["value"]}


def _write_depth(client: WebApiClient, user_id: str, privilege: str) -> str:
    """The deepest level at which the user holds the privilege ('' when not at all), through its
    roles and its teams: RetrieveUserPrivilegeByPrivilegeName (security-access-coding.md, "Check a
    user's security privileges"). Depth: Basic, Local, Deep or Global (PrivilegeDepth)."""
    path = (
        f"systemusers({user_id})/Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName"
        f"(PrivilegeName='{privilege}')"
    )
    order = ("Basic", "Local", "Deep", "Global")
    depths = [str(p.get("Depth")) for p in client.get_json(path).get("RolePrivileges", [])]
    return max((d for d in depths if d in order), key=order.index, default="")


def update_not_allowed(client: WebApiClient, definitions: dict[str, dict]) -> list[Finding]:
    """Step 8: the application user (WhoAmI) may update every record of the nine tables: the Write
    privilege at organization level (Global), since dual-write's records are owned by a team per
    company, each in its own business unit (company-data.md)."""
    user_id = client.get_json("WhoAmI")["UserId"]
    findings = []
    for entity in STEP8_TABLES:
        privileges = (definitions.get(entity) or {}).get("Privileges") or []
        write = next((p["Name"] for p in privileges if p.get("PrivilegeType") == "Write"), None)
        depth = _write_depth(client, user_id, write) if write else ""
        if depth == "Global":
            continue
        held = f"holds {write} only at the {depth} level" if depth else f"has no {write or 'Write'} privilege"
        findings.append(
            Finding(
                8,
                _step8_item(entity),
                f"The application user {held} on {entity}: give its security role Write on {entity} "
                "at organization level before writing back.",
            )
        )
    return findings


def concurrency_off(definitions: dict[str, dict]) -> list[Finding]:
    """Step 8: an update sent with If-Match is refused (412) when the record changed since it was
    read, only on a table with optimistic concurrency (perform-conditional-operations-using-web-api)."""
    return [
        Finding(
            8,
            _step8_item(entity),
            f"Optimistic concurrency is off on {entity}: a write-back could overwrite a change made "
            "since the record was read. Initialize it with the import route instead.",
        )
        for entity in STEP8_TABLES
        if not (definitions.get(entity) or {}).get("IsOptimisticConcurrencyEnabled")
    ]


def closed_records(client: WebApiClient) -> list[Finding]:
    """Step 8: orders and quotes Dataverse keeps read-only once closed refuse the write-back."""
    findings = []
    for entity, states in CLOSED_STATES.items():
        closed = sum(
            len(p.records)
            for p in client.pages(
                f"{entity}s",
                select=[f"{entity}id"],
                filter=" or ".join(f"statecode eq {s}" for s in states),
                formatted_values=False,
            )
        )
        if closed:
            findings.append(
                Finding(
                    8,
                    _step8_item(entity),
                    f"{closed:,} {entity} record(s) are closed (statecode {', '.join(map(str, states))}) "
                    "and refuse updates: initialize them through the import route, or reopen them first.",
                )
            )
    return findings


def step8_findings(client: WebApiClient) -> list[Finding]:
    definitions = _definitions(client, STEP8_TABLES)
    return [*update_not_allowed(client, definitions), *concurrency_off(definitions), *closed_records(client)]


def environment_findings(
    client: WebApiClient,
    *,
    companies: list[str],
    customer_groups: Mapping[str, str] | None = None,
    languages: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Every finding, step by step; ApiError/CannotConnect when the environment cannot be read.
    `customer_groups`, `languages`: step 8's settings per company code (step 6 checks them)."""
    return [
        *p2c_columns_left(client),
        *dual_write_columns_missing(client),
        *companies_missing(client, companies),
        *customer_groups_missing(client, customer_groups or {}),
        *duplicate_rules_published(client),
        *languages_missing(client, languages or {}),
        *step8_findings(client),
    ]
