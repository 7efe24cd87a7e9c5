"""Writing step 8's new column values back to Sales through the Web API (issue 24), without Django.

Three stages, each over plain rows:
- plan: what each record holds now (its values, @odata.etag, modifiedon, statecode) against what
  the job wants, classified (change, unchanged, conflict, missing, refused) with the values as
  Dataverse takes them: choices as option values, lookups bound with `@odata.bind` through the
  navigation property the environment's metadata names (never guessed);
- apply: the changes in `$batch` requests with continue-on-error, each update with If-Match on
  the planned etag; a 412 is read again: already as planned (an earlier attempt wrote it) or a
  conflict, never overwritten;
- read back: the records read again and compared with the plan.

Values are kept in one text form on both sides (before, after, read back): text as it is, a
choice as its option value, a lookup as "/<entity set>(<guid>)", a date as YYYY-MM-DD, a boolean
as true/false; an empty "after" means the job set nothing there (the column is left as it is),
and "(null)" that the column is emptied (an undo of a value that was empty before).
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from ..engine.files.writing import AtomicFile
from ..engine.rules.schema import Table
from .exports import ENTITY_SETS
from .webapi import Update, WebApiClient

LOOKUPS = {"Lookup", "Customer", "Owner"}
CHOICES = {"Picklist", "State", "Status"}
LOOKUP_TABLE = "@Microsoft.Dynamics.CRM.lookuplogicalname"
FORMATTED = "@OData.Community.Display.V1.FormattedValue"
OUTCOMES = ("change", "unchanged", "conflict", "missing", "refused")
# Closed records refuse updates in Sales: orders canceled, fulfilled or invoiced; quotes won or
# closed (statecode values of salesorder and quote).
CLOSED_STATES = {
    "salesorder": {2: "canceled", 3: "fulfilled", 4: "invoiced"},
    "quote": {2: "won", 3: "closed"},
}
MAX_BATCH = 1000
BYPASS_LOGIC = ("MSCRM.BypassBusinessLogicExecution", "CustomSync,CustomAsync")
BYPASS_FLOWS = ("MSCRM.SuppressCallbackRegistrationExpanderJob", "true")
NULL = "(null)"
BY_ID = 50  # GUIDs per $filter when records are read again by id


class PlanError(Exception):
    """The plan cannot be made: the message says what is wrong."""


@dataclass(frozen=True)
class Field:
    """A target column as the environment's metadata describes it."""

    logical: str
    header: str  # its header in the job's output
    kind: str  # the AttributeType
    max_length: int | None = None
    options: dict = field(default_factory=dict)  # label (case-folded) -> option value
    navigation: dict = field(default_factory=dict)  # referenced entity -> navigation property

    @property
    def selected(self) -> str:
        return f"_{self.logical}_value" if self.kind in LOOKUPS else self.logical


@dataclass
class Target:
    """The table in this environment: its entity set, key and the fields it writes."""

    table: Table
    entity_set: str
    key: str
    fields: list[Field]
    sets: dict  # entity logical name -> entity set name, for lookups

    @property
    def select(self) -> list[str]:
        extra = ["modifiedon", "statecode"] + (
            ["_customerid_value"] if self.table.entity in CLOSED_STATES else []
        )
        return list(dict.fromkeys([f.selected for f in self.fields] + extra))


@dataclass
class PlanRow:
    guid: str
    outcome: str
    reason: str = ""
    etag: str = ""
    before: dict = field(default_factory=dict)  # logical -> text form
    after: dict = field(default_factory=dict)  # logical -> text form ("" leaves it)


# --- metadata --------------------------------------------------------------------------------


def read_target(client: WebApiClient, table: Table, headers: Iterable[str]) -> Target:
    """The table's target columns the job's output holds, typed by the environment's metadata."""
    definition = f"EntityDefinitions(LogicalName='{table.entity}')"
    attributes = client.get_json(
        f"{definition}/Attributes", params={"$select": "LogicalName,AttributeType,MaxLength"}
    )
    types = {a["LogicalName"]: a for a in attributes["value"]}
    have = {h.casefold(): h for h in headers}
    wanted = []
    for target in table.targets:
        header = next((have[n.casefold()] for n in target.col.names if n.casefold() in have), None)
        if header is None:
            continue
        if target.col.logical not in types:
            raise PlanError(f"{table.entity} has no column {target.col.logical} in this environment.")
        wanted.append((target.col.logical, header))
    wanted = list(dict(wanted).items())  # a column two targets fill (contact's numbers) once
    if not wanted:
        raise PlanError("The job's output has none of the table's target columns.")
    options = _choice_options(client, definition)
    relations = client.get_json(
        f"{definition}/ManyToOneRelationships",
        params={"$select": "ReferencingAttribute,ReferencedEntity,ReferencingEntityNavigationPropertyName"},
    )["value"]
    fields = []
    for logical, header in wanted:
        meta = types[logical]
        navigation = {
            r["ReferencedEntity"]: r["ReferencingEntityNavigationPropertyName"]
            for r in relations
            if r["ReferencingAttribute"] == logical
        }
        fields.append(
            Field(
                logical,
                header,
                meta["AttributeType"],
                meta.get("MaxLength"),
                options.get(logical, {}),
                navigation,
            )
        )
    referenced = {e for f in fields for e in f.navigation} | {"cdm_company", "msdyn_customergroup"}
    sets = _entity_sets(client, [table.entity, *sorted(referenced)])
    key = f"{table.entity}id"
    return Target(table, sets.get(table.entity, ENTITY_SETS[table.entity]), key, fields, sets)


def _choice_options(client: WebApiClient, definition: str) -> dict:
    body = client.get_json(
        f"{definition}/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
    )
    found = {}
    for attribute in body["value"]:
        labels = {}
        for option in attribute["OptionSet"]["Options"]:
            label = (option.get("Label") or {}).get("UserLocalizedLabel") or {}
            labels[str(label.get("Label", "")).casefold()] = int(option["Value"])
            labels[str(option["Value"])] = int(option["Value"])
        found[attribute["LogicalName"]] = labels
    return found


def _entity_sets(client: WebApiClient, entities: list[str]) -> dict:
    sets = {}
    for entity in entities:
        body = client.get_json(
            "EntityDefinitions", params={"$filter": f"LogicalName eq '{entity}'", "$select": "EntitySetName"}
        )
        if body["value"]:
            sets[entity] = body["value"][0]["EntitySetName"]
    return sets


# --- reading records -------------------------------------------------------------------------


def read_records(client: WebApiClient, target: Target, guids: set[str] | None = None) -> dict[str, dict]:
    """Current records by GUID (lower case): the whole table page by page, kept when asked for."""
    found = {}
    for page in client.pages(target.entity_set, select=target.select):
        for record in page.records:
            guid = str(record[target.key]).lower()
            if guids is None or guid in guids:
                found[guid] = record
    return found


def read_by_id(client: WebApiClient, target: Target, guids: list[str]) -> dict[str, dict]:
    """A few records read again by id (after a 412)."""
    found = {}
    for start in range(0, len(guids), BY_ID):
        terms = " or ".join(f"{target.key} eq {g}" for g in guids[start : start + BY_ID])
        for page in client.pages(target.entity_set, select=target.select, filter=terms):
            found |= {str(r[target.key]).lower(): r for r in page.records}
    return found


def current_value(target: Target, f: Field, record: dict) -> str:
    """A record's value in the plan's text form."""
    value = record.get(f.selected)
    if value is None:
        return ""
    if f.kind in LOOKUPS:
        entity = record.get(f.selected + LOOKUP_TABLE) or next(iter(f.navigation), "")
        return f"/{target.sets.get(entity, entity)}({str(value).lower()})"
    if f.kind == "Boolean":
        return "true" if value is True else "false"
    if f.kind == "DateTime":
        return str(value)[:10]
    return str(value)


# --- plan ------------------------------------------------------------------------------------


def job_rows(lines: Iterable[str], table: Table) -> tuple[list[str], list[tuple[str, dict]]]:
    """A job's output (CSV text lines): its headers, and each row as (GUID, cells by header)."""
    reader = csv.reader(lines)
    headers = next(reader, None)
    if not headers:
        raise PlanError("The job's output is empty.")
    folded = [h.strip().casefold() for h in headers]
    guid_at = next((i for i, h in enumerate(folded) if h in table.guid_headers), None)
    if guid_at is None:
        raise PlanError(f"The job's output has no record GUID column ({', '.join(table.guid_headers)}).")
    return headers, [(r[guid_at].strip().lower(), dict(zip(headers, r, strict=False))) for r in reader if r]


class Lookups:
    """Resolves a job's lookup label to the record it names, by its key: the company by company
    code, the customer group by group id within the company, the invoice customer as the order's
    (quote's) own customer when the names agree. Anything else is refused, never guessed."""

    def __init__(self, client: WebApiClient, target: Target):
        self.target = target
        logicals = {f.logical for f in target.fields if f.kind in LOOKUPS}
        self.companies, self.groups = {}, {}
        if logicals & {"msdyn_company", "msdyn_customergroupid"}:
            for page in client.pages(
                target.sets.get("cdm_company", "cdm_companies"), select=["cdm_companyid", "cdm_companycode"]
            ):
                self.companies |= {
                    str(r["cdm_companycode"]).casefold(): str(r["cdm_companyid"]).lower()
                    for r in page.records
                }
        if "msdyn_customergroupid" in logicals:
            for page in client.pages(
                target.sets.get("msdyn_customergroup", "msdyn_customergroups"),
                select=["msdyn_customergroupid", "msdyn_groupid", "_msdyn_company_value"],
            ):
                for r in page.records:
                    company = str(r.get("_msdyn_company_value") or "").lower()
                    self.groups[(str(r["msdyn_groupid"]).casefold(), company)] = str(
                        r["msdyn_customergroupid"]
                    ).lower()

    def resolve(self, f: Field, label: str, record: dict, row: dict) -> tuple[str, str]:
        """(the value in text form, "") or ("", why it is refused)."""
        sets = self.target.sets
        if f.logical == "msdyn_company":
            guid = self.companies.get(label.casefold())
            return (
                (f"/{sets['cdm_company']}({guid})", "") if guid else ("", f"no company with code {label!r}")
            )
        if f.logical == "msdyn_customergroupid":
            company = row.get("msdyn_company") or current_value(
                self.target, _company_field(self.target), record
            )
            guid = self.groups.get((label.casefold(), company.rpartition("(")[2].rstrip(")")))
            if guid:
                return f"/{sets['msdyn_customergroup']}({guid})", ""
            return "", f"no customer group {label!r} in the record's company"
        if f.logical == "msdyn_invoicecustomerid":
            customer = record.get("_customerid_value")
            if (
                customer
                and str(record.get("_customerid_value" + FORMATTED, "")).casefold() == label.casefold()
            ):
                entity = record.get("_customerid_value" + LOOKUP_TABLE, "account")
                return f"/{sets.get(entity, entity + 's')}({str(customer).lower()})", ""
            return "", f"the invoice customer {label!r} is not the record's customer"
        return "", f"{f.logical} names a record by its name only: set it through the file route"


def _company_field(target: Target) -> Field:
    return next(
        (f for f in target.fields if f.logical == "msdyn_company"), Field("msdyn_company", "", "Lookup")
    )


def wanted_value(f: Field, label: str, record: dict, row: dict, lookups: Lookups) -> tuple[str, str]:
    """The job's cell as Dataverse takes it: (text form, "") or ("", why it is refused)."""
    label = label.strip()
    if not label:
        return "", ""
    if f.kind in LOOKUPS:
        return lookups.resolve(f, label, record, row)
    if f.kind in CHOICES:
        value = f.options.get(label.casefold())
        return (str(value), "") if value is not None else ("", f"{label!r} is not a choice of {f.logical}")
    if f.kind == "Boolean":
        known = {"yes": "true", "true": "true", "1": "true", "no": "false", "false": "false", "0": "false"}
        value = known.get(label.casefold())
        return (value, "") if value else ("", f"{label!r} is not yes or no")
    if f.kind == "DateTime":
        return label[:10], ""
    if f.max_length is not None and len(label) > f.max_length:
        return "", f"{label!r} is longer than the {f.max_length} characters {f.logical} holds"
    return label, ""


def plan_from_job(
    rows: Iterable[dict], target: Target, records: dict[str, dict], lookups: Lookups, exported_at: datetime
) -> Iterator[PlanRow]:
    """Each job row (GUID -> its cells by header) against its record as it is now."""
    for guid, cells in rows:
        record = records.get(guid)
        if record is None:
            yield PlanRow(guid, "missing", "the record is no longer in Sales (deleted)")
            continue
        after, refusals = {}, []
        for f in target.fields:
            value, refused = wanted_value(f, cells.get(f.header, ""), record, after, lookups)
            after[f.logical] = value
            if refused:
                refusals.append(refused)
        yield classify(target, record, guid, after, exported_at, refusals)


def plan_from_values(
    wanted: Iterable[tuple[str, dict]], target: Target, records: dict[str, dict], exported_at: datetime
) -> Iterator[PlanRow]:
    """Values already in text form (an undo file's before values, a conflict's re-plan)."""
    for guid, after in wanted:
        record = records.get(guid)
        if record is None:
            yield PlanRow(guid, "missing", "the record is no longer in Sales (deleted)")
            continue
        yield classify(target, record, guid, after, exported_at, [])


def classify(target, record, guid, after, exported_at, refusals) -> PlanRow:
    before = {f.logical: current_value(target, f, record) for f in target.fields}
    row = PlanRow(guid, "change", etag=record.get("@odata.etag", ""), before=before, after=after)
    closed = CLOSED_STATES.get(target.table.entity, {}).get(record.get("statecode"))
    if closed:
        row.outcome, row.reason = "refused", f"the {target.table.entity} is {closed}: Sales refuses updates"
    elif refusals:
        row.outcome, row.reason = "refused", "; ".join(refusals)
    elif all(not v or same(v, before[k]) for k, v in after.items()):
        row.outcome = "unchanged"
    elif modified_after(record.get("modifiedon"), exported_at):
        row.outcome = "conflict"
        read = f"{exported_at:%Y-%m-%dT%H:%M:%SZ}"
        row.reason = f"modified on {record['modifiedon']}, after the export the job read ({read})"
    return row


def same(wanted: str, current: str) -> bool:
    return wanted == current or (wanted == NULL and current == "")


def modified_after(modifiedon, moment: datetime) -> bool:
    if not modifiedon:
        return False
    return datetime.fromisoformat(str(modifiedon).replace("Z", "+00:00")) > moment


# --- the plan file ---------------------------------------------------------------------------


def plan_header(key: str, fields: list[str]) -> list[str]:
    """The record's GUID first, headed by the table's key (salesorderid) as exports head it."""
    return [key, "outcome", "reason", "etag"] + [
        f"{f} {side}" for f in fields for side in ("before", "after")
    ]


def write_plan(path, key: str, fields: list[str], rows: Iterable[PlanRow]) -> dict:
    """plan.csv, written whole or not at all; counts per outcome and changes per column."""
    counts = dict.fromkeys(OUTCOMES, 0)
    per_column = dict.fromkeys(fields, 0)
    atomic = AtomicFile(str(path))
    try:
        with io.TextIOWrapper(atomic.open_bytes(), encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(plan_header(key, fields))
            for row in rows:
                counts[row.outcome] += 1
                if row.outcome == "change":
                    for f in fields:
                        if row.after.get(f) and not same(row.after[f], row.before.get(f, "")):
                            per_column[f] += 1
                writer.writerow(plan_cells(row, fields))
        atomic.commit()
    except BaseException:
        atomic.abort()
        raise
    return {"outcomes": counts, "columns": per_column}


def plan_cells(row: PlanRow, fields: list[str]) -> list[str]:
    values = [v for f in fields for v in (row.before.get(f, ""), row.after.get(f, ""))]
    return [row.guid, row.outcome, row.reason, row.etag, *values]


@contextmanager
def _csv_rows(source) -> Iterator[Iterator[list[str]]]:
    """A CSV file's rows, from a path or from a file object opened in binary (a stored file
    streamed line by line, never held whole)."""
    if hasattr(source, "readline"):
        yield csv.reader(line.decode("utf-8") for line in iter(source.readline, b""))
        return
    with open(source, encoding="utf-8", newline="") as file:
        yield csv.reader(file)


def read_plan(source) -> tuple[list[str], list[PlanRow]]:
    """plan.csv's columns and rows, from its path or a binary file object."""
    with _csv_rows(source) as reader:
        header = next(reader)
        fields = [h.removesuffix(" before") for h in header[4::2]]
        rows = []
        for cells in reader:
            values = cells[4:]
            rows.append(
                PlanRow(
                    cells[0], cells[1], cells[2], cells[3],
                    {f: values[2 * i] for i, f in enumerate(fields)},
                    {f: values[2 * i + 1] for i, f in enumerate(fields)},
                )
            )  # fmt: skip
    return fields, rows


# --- apply -----------------------------------------------------------------------------------


def payload(target: Target, row: PlanRow) -> dict:
    """The update's body: only the columns that change, as Dataverse takes them."""
    body = {}
    by_name = {f.logical: f for f in target.fields}
    reverse = {s: e for e, s in target.sets.items()}
    for name, value in row.after.items():
        if not value or same(value, row.before.get(name, "")):
            continue
        f = by_name[name]
        if value == NULL:
            key = f"{next(iter(f.navigation.values()))}@odata.bind" if f.kind in LOOKUPS else name
            body[key] = None
        elif f.kind in LOOKUPS:
            entity = reverse.get(value[1:].partition("(")[0], "")
            body[f"{f.navigation[entity]}@odata.bind"] = value
        elif f.kind in CHOICES:
            body[name] = int(value)
        elif f.kind == "Boolean":
            body[name] = value == "true"
        else:
            body[name] = value
    return body


@dataclass
class Applied:
    row: PlanRow
    outcome: str  # applied | failed | conflict
    code: str = ""
    message: str = ""


def as_planned(target: Target, row: PlanRow, record: dict) -> bool:
    return all(
        same(v, current_value(target, f, record)) for f in target.fields if (v := row.after.get(f.logical))
    )


def apply_rows(
    client: WebApiClient,
    target: Target,
    rows: list[PlanRow],
    *,
    batch_size: int = 100,
    headers: tuple = (),
    on_batch: Callable[[list[Applied]], None] | None = None,
) -> list[Applied]:
    """The planned changes in $batch requests; a 412 is read again: already as planned (written by
    an earlier attempt: applied, not written twice) or changed by someone (a conflict)."""
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"The batch size must be 1 to {MAX_BATCH}, not {batch_size}.")
    results = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        updates = [
            Update(target.entity_set, r.guid, payload(target, r), r.etag or None, headers) for r in batch
        ]
        outcomes = client.batch_update(updates)
        done = [_applied(r, o) for r, o in zip(batch, outcomes, strict=False)]
        done += [
            Applied(r, "failed", "", "no answer in the batch's response") for r in batch[len(outcomes) :]
        ]
        stale = [a.row.guid for a in done if a.outcome == "conflict"]
        if stale:
            now = read_by_id(client, target, stale)
            for a in done:
                if (
                    a.outcome == "conflict"
                    and a.row.guid in now
                    and as_planned(target, a.row, now[a.row.guid])
                ):
                    a.outcome, a.code, a.message = (
                        "applied",
                        "",
                        "already as planned (an earlier attempt wrote it)",
                    )
        results += done
        if on_batch:
            on_batch(done)
    return results


def _applied(row: PlanRow, outcome) -> Applied:
    if outcome.status < 300:
        return Applied(row, "applied")
    if outcome.status == 412:
        return Applied(
            row, "conflict", outcome.code, "changed in Sales since the plan read it: not overwritten"
        )
    return Applied(row, "failed", outcome.code, outcome.message)


def write_results(path, key: str, fields: list[str], results: Iterable[Applied]) -> int:
    """applied.csv, failed.csv or conflicts.csv: the plan's columns (before and after) and the
    outcome with Dataverse's code and message."""
    atomic = AtomicFile(str(path))
    count = 0
    try:
        with io.TextIOWrapper(atomic.open_bytes(), encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow([*plan_header(key, fields), "result", "code", "message"])
            for a in results:
                writer.writerow([*plan_cells(a.row, fields), a.outcome, a.code, a.message])
                count += 1
        atomic.commit()
    except BaseException:
        atomic.abort()
        raise
    return count


def plan_table(path) -> str:
    """The table a plan (or an outcome file) writes, by its first header: the table's key."""
    with _csv_rows(path) as reader:
        key = next(reader)[0]
    entity = key.removesuffix("id")
    if entity not in ENTITY_SETS:
        raise PlanError(f"{path} is not a write-back plan: its first column is {key!r}, not a table's id.")
    return entity


def read_plan_like(source) -> tuple[list[str], list[Applied]]:
    """An outcome file's (applied.csv, a chunk's) columns and rows, from its path or a binary file object."""
    with _csv_rows(source) as reader:
        header = next(reader)
        fields = [h.removesuffix(" before") for h in header[4:-3:2]]
        out = []
        for cells in reader:
            values = cells[4:-3]
            row = PlanRow(
                cells[0], cells[1], cells[2], cells[3],
                {f: values[2 * i] for i, f in enumerate(fields)},
                {f: values[2 * i + 1] for i, f in enumerate(fields)},
            )  # fmt: skip
            out.append(Applied(row, *cells[-3:]))
    return fields, out


# --- read back -------------------------------------------------------------------------------


BYPASS_PRIVILEGE = "prvBypassCustomBusinessLogic"


def holds_privilege(client: WebApiClient, name: str) -> bool:
    """Whether the application user holds a privilege, through any of its roles (WhoAmI, then
    RetrieveUserPrivileges on its systemuser)."""
    user = client.get_json("WhoAmI")["UserId"]
    body = client.get_json(f"systemusers({user})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()")
    return any(p.get("PrivilegeName") == name for p in body.get("RolePrivileges", []))


def bypass_headers(*, logic: bool, flows: bool) -> tuple:
    """The optional headers each update carries (bypass-custom-business-logic)."""
    return tuple(h for h, on in ((BYPASS_LOGIC, logic), (BYPASS_FLOWS, flows)) if on)


def read_back_rows(rows: list[PlanRow], differ: list[tuple[PlanRow, dict]]) -> list[Applied]:
    """readback.csv's rows: each planned record, what it holds now (as "before") against the plan."""
    now = {row.guid: values for row, values in differ}
    return [
        Applied(
            PlanRow(r.guid, r.outcome, r.reason, r.etag, now.get(r.guid, r.after), r.after),
            "differs" if r.guid in now else "as planned",
        )
        for r in rows
    ]


def read_back(
    client: WebApiClient, target: Target, rows: list[PlanRow]
) -> tuple[int, list[tuple[PlanRow, dict]]]:
    """Every planned record read again: how many are as planned, and the others with what they hold."""
    records = read_records(client, target, {r.guid for r in rows})
    matched, differ = 0, []
    for row in rows:
        record = records.get(row.guid)
        if record is not None and as_planned(target, row, record):
            matched += 1
        else:
            now = {f.logical: current_value(target, f, record) for f in target.fields} if record else {}
            differ.append((row, now))
    return matched, differ
