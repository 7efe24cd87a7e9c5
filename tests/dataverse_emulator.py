"""A small, strict Dataverse Web API (and F&O OData) for the tests: there is none to install.

It serves over TLS on 127.0.0.1 (the test CA of tests/entra.py) and only accepts access tokens
that the test OpenID provider signed for this environment (audience = its URL, not expired, not
revoked by `revoke_tokens()`, as an expired one is). Each behaviour follows an exchange Microsoft
documents; the article is named where the behaviour is built.
"""

import base64
import itertools
import json
import re
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

API = "/api/data/v9.2/"
FORMATTED = "@OData.Community.Display.V1.FormattedValue"
LOOKUP_TABLE = "@Microsoft.Dynamics.CRM.lookuplogicalname"

# https://learn.microsoft.com/power-apps/developer/data-platform/api-limits#service-protection-api-limit-errors
# (powerapps-docs: powerapps-docs/developer/data-platform/api-limits.md): the Web API returns 429
# with the hex code and this message, and Retry-After in seconds.
SERVICE_PROTECTION = {
    "requests": (
        "0x80072322",
        "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
    ),
    "execution_time": (
        "0x80072321",
        "Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over "
        "time window of 300 seconds. Decrease number of concurrent requests or reduce the duration "
        "of requests and try again later.",
    ),
    "concurrency": ("0x80072326", "Number of concurrent requests exceeded the limit of 52."),
}


LOOKUP_TYPES = {"Lookup", "Customer", "Owner"}
# The SchemaName of the nine tables (the Dataverse table/entity reference): privileges are named
# "prv" + verb + SchemaName (security-access-coding.md, "Check a user's security privileges").
SCHEMA_NAMES = {
    "account": "Account", "contact": "Contact", "salesorder": "SalesOrder",
    "salesorderdetail": "SalesOrderDetail", "quote": "Quote", "quotedetail": "QuoteDetail",
    "invoice": "Invoice", "invoicedetail": "InvoiceDetail", "product": "Product",
}  # fmt: skip
PRIVILEGE_TYPES = ("Create", "Read", "Write", "Delete", "Assign", "Share", "Append", "AppendTo")

# Error bodies as Microsoft documents them, each with its source in MicrosoftDocs' repositories:
# - SupportArticles-docs: support/power-platform/dataverse/dataverse-web-api-and-sdk/
#   web-api-client-errors.md ("Troubleshoot Dataverse Web API client errors"):
#   an unknown entity set is 404 {"code": "0x8006088a", "message": "Resource not found for the
#   segment 'Account'."}; an unknown $select property is 400 {"code": "0x0", "message": "Could not
#   find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'."}; an unknown property in
#   a body is 400 {"code": "0x0", "message": "An error occurred while validating input parameters:
#   Microsoft.Crm.CrmException: Invalid property 'Name' was found in entity
#   'Microsoft.Dynamics.CRM.account'. ..."}.
# - powerapps-docs: powerapps-docs/developer/data-platform/webapi/
#   perform-conditional-operations-using-web-api.md#apply-optimistic-concurrency-on-update: 412 with
#   "The version of the existing record doesn't match the RowVersion property provided." (its example
#   body leaves the code empty; compose-http-requests-handle-errors.md#parse-errors-from-the-response:
#   the code "is frequently empty"); the code is ConcurrencyVersionMismatch, 0x80060882, with that
#   same message in powerapps-docs/developer/data-platform/includes/data-service-error-codes.md.
#   A record that does not exist is 404 "account With Id = <id> Does Not Exist" (same article,
#   #prevent-create-in-upsert), the code ObjectDoesNotExist, 0x80040217, in the same code list.
NOT_A_SEGMENT = "0x8006088a"
NOT_A_PROPERTY = "0x0"
STALE_VERSION = "0x80060882"
NO_SUCH_RECORD = "0x80040217"


def unknown_segment(segment: str) -> dict:
    return odata_error(NOT_A_SEGMENT, f"Resource not found for the segment '{segment}'.")


def unknown_select(column: str, logical_name: str) -> dict:
    return odata_error(
        NOT_A_PROPERTY,
        f"Could not find a property named '{column}' on type 'Microsoft.Dynamics.CRM.{logical_name}'.",
    )


def unknown_body_property(column: str, logical_name: str) -> dict:
    return odata_error(
        NOT_A_PROPERTY,
        "An error occurred while validating input parameters: Microsoft.Crm.CrmException: Invalid "
        f"property '{column}' was found in entity 'Microsoft.Dynamics.CRM.{logical_name}'.",
    )


@dataclass
class Table:
    """An entity set: its logical name, primary key, its columns (logical name -> AttributeType),
    and its rows (raw values, with formatted-value annotations where Dataverse gives them; a
    lookup's value under _<name>_value, as the Web API names it)."""

    logical_name: str
    key: str
    columns: dict[str, str]
    rows: list[dict] = field(default_factory=list)
    optimistic_concurrency: bool = True  # EntityMetadata.IsOptimisticConcurrencyEnabled

    @property
    def schema_name(self) -> str:
        return SCHEMA_NAMES.get(self.logical_name, self.logical_name)

    @property
    def privileges(self) -> list[dict]:
        """EntityMetadata.Privileges (SecurityPrivilegeMetadata): one per verb."""
        return [
            {"Name": f"prv{verb}{self.schema_name}", "PrivilegeType": verb,
             "PrivilegeId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"prv{verb}{self.schema_name}"))}
            for verb in PRIVILEGE_TYPES
        ]  # fmt: skip

    # Metadata the write-back reads and the emulator enforces on updates, as Dataverse does:
    max_lengths: dict[str, int] = field(default_factory=dict)  # text column -> MaxLength
    options: dict[str, dict[int, str]] = field(default_factory=dict)  # choice -> value -> label
    # navigation property -> (lookup column, referenced entity, its entity set)
    navigation: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    closed: dict[int, str] = field(default_factory=dict)  # statecode -> why updates are refused

    @property
    def choices(self) -> dict[str, dict[int, str]]:
        """A Picklist column's options (the environment check reads them as `choices`)."""
        return self.options

    def find(self, key: str) -> dict | None:
        """The row of that id; the index is made again when the rows were replaced or grew."""
        index = self.__dict__.get("_index")
        if index is None or index[0] is not self.rows or index[1] != len(self.rows):
            index = (self.rows, len(self.rows), {r[self.key]: r for r in self.rows})
            self.__dict__["_index"] = index
        row = index[2].get(key)
        return row if row is not None and row[self.key] == key else None

    @property
    def properties(self) -> set[str]:
        """What $select may name: a lookup only as _<name>_value (query/select-columns)."""
        return {f"_{c}_value" if t in LOOKUP_TYPES else c for c, t in self.columns.items()}


@dataclass
class Received:
    at: float
    method: str
    path: str
    query: dict
    prefer: str
    answered: int = 0
    who: str = ""  # the access token's jti: one reader (a worker's pull) from another
    seq: int = 0  # when it arrived, in the emulator's order of events (arrivals and answers)
    answered_seq: int = 0  # when its answer was sent, in the same order


@dataclass
class PauseWindow:
    """A pause the emulator announced: a 429 answered to `to_who` at event `announced_seq`, every
    request refused until `until` (Retry-After). `shared_proof`: another reader had a request
    waiting when the 429 left, and its answer was held until the pause was visible to every worker
    (`Emulator.pause_visible`): that reader's next request was sent knowing of the pause."""

    to_who: str
    announced_seq: int
    start: float
    until: float
    shared_proof: bool = False


class Emulator:
    """The environment's state: tables, scripted faults, and every request received."""

    def __init__(
        self, ca, *, issuer: str, default_page_size: int = 5000, api_path: str = API, dop_hint: int = 4
    ):
        self.ca, self.issuer, self.api_path = ca, issuer, api_path
        self.default_page_size, self.dop_hint = default_page_size, dop_hint
        self.default_company = "usmf"  # F&O: the application user's company
        # The application user (WhoAmI) and the depth of each privilege it holds through its roles
        # and teams: every privilege of every table at organization level unless a test says other
        # ("" : not held at all).
        self.user_id = str(uuid.uuid4())
        self.privilege_depths: dict[str, str] = {}
        self.tables: dict[str, Table] = {}
        self.faults: list[tuple[int, str, object]] = []  # (on request number, kind, detail)
        self.received: list[Received] = []
        self.paused_until = 0.0
        self.paused_by = "requests"
        self.windows: list[PauseWindow] = []
        # Grace for a request already on its way when a 429 was sent (see `during_pause`); off
        # where the test knows no request can be (reads in sequence).
        self.in_flight_grace = True
        # Given, the time the shared pause ends as the workers see it (their Redis key): after a
        # scripted 429 every other reader's answer waits until the pause is visible there.
        self.pause_visible: Callable[[], float] | None = None
        self.holding_for = ""  # while set, answers to other readers wait (see PauseWindow)
        self.tokens_seen: set[str] = set()
        self.updated: list[str] = []  # the id of each record updated, once per update
        self.write_delay = 0.0  # seconds each $batch takes, to catch a worker in the middle
        self.user_id = "a0000000-0000-0000-0000-0000000000a1"  # the application user (WhoAmI)
        self.privileges = ["prvReadAccount", "prvWriteAccount", "prvReadSalesOrder", "prvWriteSalesOrder"]
        self.revoked: set[str] = set()
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self._events = itertools.count(1)
        self._keys: KeySet | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(ca.cert_file, ca.key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def add_table(self, entity_set: str, logical_name: str, key: str, columns, rows=(), **metadata):
        """`columns`: names (text columns) or a dict of name -> AttributeType; `metadata`: the
        Table's max_lengths, options, navigation and closed states."""
        types = columns if isinstance(columns, dict) else dict.fromkeys(columns, "String")
        self.tables[entity_set] = Table(
            logical_name, key, {key: "Uniqueidentifier", **types}, list(rows), **metadata
        )

    # Scripted faults, each on the Nth request from now (1 = the next).
    def throttle(self, kind: str, *, retry_after: int = 1, on: int = 1):
        self._fault(on, "throttle", (kind, retry_after))

    def throttle_batch(self, kind: str, *, retry_after: int = 1, on: int = 1):
        """A 429 to the Nth $batch request from now (writes only, whatever the reads between)."""
        with self.lock:
            batches = sum(1 for r in self.received if r.method == "POST")
            self.faults.append((batches + on, "throttle_batch", (kind, retry_after)))

    def fail(self, status: int, *, on: int = 1):
        self._fault(on, "status", status)

    def drop_connection(self, *, on: int = 1):
        self._fault(on, "drop", None)

    @property
    def during_pause(self) -> list[Received]:
        """Requests that arrived inside a pause window the emulator announced, from a reader that
        could have known of it. Grace (`in_flight_grace`) by order of events, not by time: a
        reader's first request after the 429 left is taken as already on its way if that reader
        had no answer pending when the 429 was sent (its previous answer came before), so it
        may have sent it before any worker knew. The reader the 429 went to has none."""
        with self.lock:
            received, windows = list(self.received), list(self.windows)
        sent = []
        for window in windows:
            inside = [r for r in received if r.seq > window.announced_seq and r.at < window.until]
            sent += [r for r in inside if not (self.in_flight_grace and _in_flight(r, window, received))]
        return list({id(r): r for r in sent}.values())

    def revoke_tokens(self):
        """Tokens used until now are refused from now on, as an expired one is."""
        with self.lock:
            self.revoked |= self.tokens_seen

    def _fault(self, on, kind, detail):
        with self.lock:
            self.faults.append((len(self.received) + on, kind, detail))

    def patch(self, path: str, if_match: str | None, body: bytes) -> tuple[int, dict | None]:
        """An update: webapi/update-delete-entities-using-web-api#basic-update, with optimistic
        concurrency (webapi/perform-conditional-operations-using-web-api#apply-optimistic-concurrency):
        If-Match not the record's @odata.etag answers 412 and changes nothing."""
        found = re.fullmatch(re.escape(self.api_path) + r"(\w+)\(([0-9a-fA-F-]+)\)", path)
        table = self.tables.get(found.group(1)) if found else None
        if table is None:
            return 404, unknown_segment(path.removeprefix(self.api_path).split("(")[0])
        row = table.find(found.group(2))
        if row is None:
            return 404, odata_error(
                NO_SUCH_RECORD, f"{table.logical_name} With Id = {found.group(2)} Does Not Exist"
            )
        with self.lock:
            etag = row.get("@odata.etag", 'W/"1"')
            if if_match not in (None, "*", etag):
                message = "The version of the existing record doesn't match the RowVersion property provided."
                return 412, odata_error(STALE_VERSION, message)
            changes = json.loads(body or b"{}")
            refused = self._refused(table, row, changes)
            if refused:
                return 400, refused
            row.update(self._stored(table, changes))
            self.updated.append(found.group(2))
            row["@odata.etag"] = f'W/"{int(etag[3:-1]) + 1}"'
            row["modifiedon"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return 204, None

    def _refused(self, table: Table, row: dict, changes: dict) -> dict | None:
        """What Dataverse answers 400 to: an unknown property or navigation property, a bind to no
        record, a text over its MaxLength, a value that is not a choice's, a closed record."""
        if row.get("statecode") in table.closed:
            return odata_error("0x80043b09", table.closed[row["statecode"]])
        for name, value in changes.items():
            if name.endswith("@odata.bind"):
                nav = table.navigation.get(name.removesuffix("@odata.bind"))
                if nav is None:
                    return odata_error(
                        "0x80060888",
                        f"An undeclared property '{name.removesuffix('@odata.bind')}' which only has "
                        "property annotations in the payload but no property value was found in the payload.",
                    )
                if value is None:  # webapi/associate-disassociate-entities: a lookup emptied
                    continue
                found = re.fullmatch(r"/?(\w+)\(([0-9a-fA-F-]+)\)", str(value))
                target = self.tables.get(found.group(1)) if found else None
                if (
                    found is None
                    or target is None
                    or found.group(1) != nav[2]
                    or target.find(found.group(2)) is None
                ):
                    return odata_error("0x80040217", f"{nav[1]} With Id = {value} Does Not Exist")
            elif name not in table.properties:
                return unknown_body_property(name, table.logical_name)
            elif (
                name in table.max_lengths and value is not None and len(str(value)) > table.max_lengths[name]
            ):
                return odata_error(
                    "0x80044331",
                    f"A validation error occurred. The length of the '{name}' attribute of the "
                    f"'{table.logical_name}' entity exceeded the maximum allowed length of "
                    f"'{table.max_lengths[name]}'.",
                )
            elif name in table.options and value is not None and value not in table.options[name]:
                return odata_error("0x8004431a", f"{value} is not a valid value for {name}.")
        return None

    def _stored(self, table: Table, changes: dict) -> dict:
        """As a later read shows them: a bound lookup under _<column>_value with its table, a
        choice with its label."""
        stored = {}
        for name, value in changes.items():
            if name.endswith("@odata.bind"):
                column, entity, _ = table.navigation[name.removesuffix("@odata.bind")]
                guid = str(value).rpartition("(")[2].rstrip(")") if value is not None else None
                stored |= {
                    f"_{column}_value": guid,
                    f"_{column}_value{LOOKUP_TABLE}": entity if guid else None,
                }
            else:
                stored[name] = value
                if name in table.options and value is not None:
                    stored[name + FORMATTED] = table.options[name][value]
        return stored

    def batch(self, body: bytes, boundary: str, continue_on_error: bool) -> tuple[bytes, str]:
        """webapi/execute-batch-operations-using-web-api: each part an application/http request;
        the responses in order; without Prefer odata.continue-on-error the batch stops at the first
        error (its response is the last)."""
        answers = []
        for part in body.split(f"--{boundary}".encode())[1:]:
            if part.startswith(b"--"):
                break
            request = part.split(b"\r\n\r\n", 1)[1]  # after the part's own headers
            head, _, payload = request.partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in lines[1:] if line)
            path = urlsplit(target).path
            if method != "PATCH":
                status, answer = 400, odata_error(NOT_A_PROPERTY, "The emulator batches PATCH only.")
            else:
                status, answer = self.patch(path, headers.get("If-Match"), payload.strip())
            answers.append((status, answer))
            if status >= 400 and not continue_on_error:
                break
        response_boundary = f"batchresponse_{uuid.uuid4()}"
        reasons = {204: "No Content", 400: "Bad Request", 404: "Not Found", 412: "Precondition Failed"}
        out = []
        for status, answer in answers:
            text = json.dumps(answer) if answer else ""
            content_type = "Content-Type: application/json; odata.metadata=minimal\r\n" if answer else ""
            out.append(
                f"--{response_boundary}\r\nContent-Type: application/http\r\n"
                "Content-Transfer-Encoding: binary\r\n\r\n"
                f"HTTP/1.1 {status} {reasons.get(status, '')}\r\n{content_type}OData-Version: 4.0\r\n\r\n"
                f"{text}\r\n"
            )
        out.append(f"--{response_boundary}--\r\n")
        return "".join(out).encode(), response_boundary

    def keys(self) -> KeySet:
        if self._keys is None:
            config = requests.get(
                f"{self.issuer}/.well-known/openid-configuration", verify=self.ca.ca_file, timeout=10
            ).json()
            self._keys = KeySet.import_key_set(
                requests.get(config["jwks_uri"], verify=self.ca.ca_file, timeout=10).json()
            )
        return self._keys


def _in_flight(request: Received, window: PauseWindow, received: list[Received]) -> bool:
    if request.who == window.to_who:
        return False
    theirs = [r for r in received if r.who == request.who]
    if any(window.announced_seq < r.seq < request.seq for r in theirs):
        return False  # not their first request since the 429: they had an answer in between
    before = [r for r in theirs if r.seq < window.announced_seq]
    return not before or max(before, key=lambda r: r.seq).answered_seq < window.announced_seq


def _who(authorization: str) -> str:
    """The bearer token's jti, read without verifying (only to tell readers apart in the log)."""
    try:
        payload = authorization.removeprefix("Bearer ").split(".")[1]
        return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("jti", ""))
    except (IndexError, ValueError):
        return ""


def odata_error(code: str, message: str) -> dict:
    """Dataverse's error body (webapi/compose-http-requests-handle-errors#parse-errors-from-the-response).
    F&O's docs (dynamics-365-unified-operations-public: articles/fin-ops-core/dev-itpro/
    data-entities/odata.md) show no error body; the emulator answers F&O with this OData JSON error
    shape too, and no test relies on an F&O-specific code or message."""
    return {"error": {"code": code, "message": message}}


def _handler(env: Emulator):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # the tests read env.received instead
            pass

        def setup(self):
            # Headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm and the
            # client's delayed ACK hold the body ~40 ms, which no real server adds.
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        # --- writes: PATCH with If-Match, and $batch (for the write-back) ---------------------

        def do_PATCH(self):
            url = urlsplit(self.path)
            received = self._receive("PATCH", url)
            if not self._authorised():
                return self._answer(received, 401, None)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, answer = env.patch(url.path, self.headers.get("If-Match"), body)
            return self._answer(received, status, answer)

        def do_POST(self):
            url = urlsplit(self.path)
            received = self._receive("POST", url)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with env.lock:  # service protection as for reads: a pause, or a 429 scripted for it
                number = len(env.received)
                batches = sum(1 for r in env.received if r.method == "POST")
                throttles = [f[2] for f in env.faults if f[0] == number and f[1] == "throttle"]
                throttles += [f[2] for f in env.faults if f[0] == batches and f[1] == "throttle_batch"]
                paused = received.at < env.paused_until
            if paused:  # api-limits: refused until the pause is over (`during_pause` checks the client)
                return self._throttled(received, env.paused_by, max(1, round(env.paused_until - received.at)))
            if throttles:
                return self._throttled(received, *throttles[0], scripted=True)
            if not self._authorised():
                return self._answer(received, 401, None)
            if url.path != env.api_path + "$batch":
                return self._answer(received, 404, unknown_segment(url.path.removeprefix(env.api_path)))
            boundary = self.headers.get("Content-Type", "").partition("boundary=")[2]
            continue_on_error = "odata.continue-on-error" in self.headers.get("Prefer", "")
            time.sleep(env.write_delay)
            payload, response_boundary = env.batch(body, boundary, continue_on_error)
            with env.lock:
                received.answered_seq = next(env._events)
            received.answered = 200
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/mixed; boundary={response_boundary}")
            self.send_header("OData-Version", "4.0")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return None

        def _receive(self, method, url, query=None):
            query = query if query is not None else {k: v[0] for k, v in parse_qs(url.query).items()}
            received = Received(time.time(), method, url.path, query, self.headers.get("Prefer", ""))
            received.who = _who(self.headers.get("Authorization", ""))
            with env.lock:
                received.seq = next(env._events)
                env.received.append(received)
                env.changed.notify_all()
            return received

        def do_GET(self):
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            received = self._receive("GET", url, query)
            with env.lock:
                number = len(env.received)
                faults = [f for f in env.faults if f[0] == number]
                paused = received.at < env.paused_until
            if paused:  # api-limits: every request is refused until the pause is over
                return self._throttled(received, env.paused_by, max(1, round(env.paused_until - received.at)))
            if not self._authorised():
                return self._answer(
                    received,
                    401,
                    None,
                    {"WWW-Authenticate": f"Bearer authorization_uri={env.issuer}, resource_id={env.url}/"},
                )
            for _, kind, detail in faults:
                if kind == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                if kind == "status":  # an outage: the client retries 5xx, it never reads this body
                    return self._answer(
                        received, detail, odata_error("0x80040216", "An unexpected error occurred.")
                    )
                if kind == "throttle":
                    return self._throttled(received, *detail, scripted=True)
            if not url.path.startswith(env.api_path):
                return self._answer(received, 404, unknown_segment(url.path))
            return self._read(received, url.path[len(env.api_path) :], query)

        def _authorised(self) -> bool:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                return False
            try:
                token = jwt.decode(header[7:], env.keys(), algorithms=["RS256"])
                jwt.JWTClaimsRegistry(
                    iss={"essential": True, "value": env.issuer}, aud={"essential": True, "value": env.url}
                ).validate(token.claims)
            except (JoseError, ValueError):
                return False
            with env.lock:
                env.tokens_seen.add(token.claims["jti"])
                return token.claims["jti"] not in env.revoked

        def _throttled(self, received, kind, retry_after, scripted=False):
            # api-limits#retry-operations: every request must wait Retry-After seconds.
            holding = scripted and env.pause_visible is not None and self._hold_others(received)
            with env.lock:
                if time.time() >= env.paused_until:
                    env.paused_by = kind
                env.paused_until = max(env.paused_until, time.time() + retry_after)
            code, message = SERVICE_PROTECTION[kind]
            self._answer(received, 429, odata_error(code, message), {"Retry-After": str(retry_after)})
            if scripted:
                window = PauseWindow(received.who, received.answered_seq, received.at, env.paused_until)
                with env.lock:
                    env.windows.append(window)
                if holding:
                    window.shared_proof = self._release_when_visible(window)

        def _hold_others(self, received) -> bool:
            """Wait (a little) for another reader's request to be on hand, then hold its answer:
            its next request is then sent after the pause was shared, or not at all."""
            with env.changed:
                waiting = env.changed.wait_for(
                    lambda: any(r.who not in ("", received.who) and not r.answered_seq for r in env.received),
                    timeout=5,
                )
                env.holding_for = received.who if waiting else ""
            return waiting

        def _release_when_visible(self, window) -> bool:
            deadline = time.time() + 10
            while (seen := env.pause_visible()) < window.until - 0.001 and time.time() < deadline:
                time.sleep(0.005)
            with env.changed:
                env.holding_for = ""
                env.changed.notify_all()
            return seen >= window.until - 0.001

        def _read(self, received, entity_set, query):
            if entity_set == "WhoAmI":  # webapi/reference/whoami
                return self._answer(received, 200, {"UserId": env.user_id})
            if entity_set == f"systemusers({env.user_id})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()":
                # webapi/reference/retrieveuserprivileges: RolePrivileges, each named
                privileges = [{"PrivilegeName": name, "Depth": "Global"} for name in env.privileges]
                return self._answer(received, 200, {"RolePrivileges": privileges})
            if entity_set == "EntityDefinitions":
                return self._definitions(received, query)
            if entity_set in ("WhoAmI", "WhoAmI()"):
                return self._who_am_i(received)
            if privilege := re.fullmatch(
                r"systemusers\(([0-9a-f-]+)\)/Microsoft\.Dynamics\.CRM\.RetrieveUserPrivilegeByPrivilegeName"
                r"\(PrivilegeName='(\w+)'\)",
                entity_set,
            ):
                return self._user_privilege(received, *privilege.groups())
            if entity_set == "RetrieveTotalRecordCount(EntityNames=@p1)":
                return self._record_counts(received, query)
            if choice := re.fullmatch(
                r"EntityDefinitions\(LogicalName='([a-z_0-9]+)'\)/Attributes\(LogicalName='([a-z_0-9]+)'\)/"
                r"Microsoft\.Dynamics\.CRM\.PicklistAttributeMetadata",
                entity_set,
            ):
                return self._choice(received, *choice.groups(), query)
            if attributes := re.fullmatch(
                r"EntityDefinitions\(LogicalName='([a-z_0-9]+)'\)/Attributes", entity_set
            ):
                return self._attributes(received, attributes.group(1), query)
            if metadata := re.fullmatch(
                r"EntityDefinitions\(LogicalName='([a-z_0-9]+)'\)/(Attributes/Microsoft.Dynamics.CRM."
                r"PicklistAttributeMetadata|ManyToOneRelationships)",
                entity_set,
            ):
                return self._choices_or_relationships(received, *metadata.groups())
            table = env.tables.get(entity_set)
            if table is None:
                return self._answer(received, 404, unknown_segment(entity_set))
            select = [c for c in query.get("$select", "").split(",") if c]
            for column in select:
                if column not in table.properties:
                    return self._answer(received, 400, unknown_select(column, table.logical_name))
            # webapi/query/page-results: odata.maxpagesize in Prefer; the nextLink carries $skiptoken.
            preferences = [p.strip() for p in received.prefer.split(",")]
            size = next(
                (int(p.split("=")[1]) for p in preferences if p.startswith("odata.maxpagesize=")),
                env.default_page_size,
            )
            # select-columns#formatted-values: only the annotations asked for ("*" for all).
            asked = received.prefer.partition("odata.include-annotations=")[2].split('"')[1:2]
            asked = set(asked[0].split(",")) if asked else set()
            annotate = [s for s in (FORMATTED, LOOKUP_TABLE) if "*" in asked or s[1:] in asked]
            skip = int(query.get("$skiptoken", 0))
            matching = self._filtered(table.rows, query)
            if matching is None:
                message = "The emulator filters by \"column eq 'value'\" terms joined by or, only."
                return self._answer(received, 400, odata_error(NOT_A_PROPERTY, message))
            rows = matching[skip : skip + size]
            body = {
                "@odata.context": f"{env.url}{env.api_path}$metadata#{entity_set}",
                "value": [self._shape(row, select, annotate, table.key) for row in rows],
            }
            if skip + size < len(matching):
                next_query = {k: v for k, v in query.items() if k != "$skiptoken"} | {
                    "$skiptoken": str(skip + size)
                }
                body["@odata.nextLink"] = f"{env.url}{env.api_path}{entity_set}?{urlencode(next_query)}"
            applied = ",".join(
                p for p in preferences if p.startswith(("odata.maxpagesize", "odata.include-annotations"))
            )
            return self._answer(received, 200, body, {"Preference-Applied": applied} if applied else {})

        @staticmethod
        def _filtered(rows, query):
            """$filter as "a eq 'x' or a eq 'y'" (case-insensitive, as F&O compares dataAreaId);
            F&O gives the user's default company only unless cross-company=true (data-entities/odata)."""
            if env.api_path == "/data/" and query.get("cross-company", "").lower() != "true":
                rows = [r for r in rows if str(r.get("dataAreaId", "")).lower() == env.default_company]
            text = query.get("$filter")
            if not text:
                return rows
            # A text in quotes, a whole number (a choice's value) or a GUID unquoted, as
            # query/filter-rows writes them.
            terms = [
                re.fullmatch(r"(\w+) eq (?:'([^']*)'|(-?\d+))", t.strip())
                or re.fullmatch(r"(\w+) eq ([0-9a-fA-F]{8}-[0-9a-fA-F-]{27})", t.strip())
                for t in text.split(" or ")
            ]
            if not all(terms):
                return None
            wanted = [(t[1], (t[2] if t[2] is not None else t[3]).lower()) for t in terms]
            return [r for r in rows if any(str(r.get(c, "")).lower() == v for c, v in wanted)]

        def _definitions(self, received, query):
            # webapi/query-metadata-web-api: EntityDefinitions filtered by LogicalName (terms joined
            # by or), with the properties $select names among those EntityMetadata has here.
            terms = [re.fullmatch(r"LogicalName eq '([a-z_0-9]+)'", t.strip())
                     for t in query.get("$filter", "").split(" or ")]  # fmt: skip
            if not all(terms):
                return self._answer(
                    received,
                    400,
                    odata_error(NOT_A_PROPERTY, "The emulator filters EntityDefinitions by LogicalName."),
                )
            wanted = {t.group(1) for t in terms}
            value = [
                {
                    "MetadataId": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
                    "LogicalName": t.logical_name,
                    "SchemaName": t.schema_name,
                    "EntitySetName": name,
                    "PrimaryIdAttribute": t.key,
                    "PrimaryNameAttribute": "name",
                    "IsOptimisticConcurrencyEnabled": t.optimistic_concurrency,
                    "Privileges": t.privileges,
                }
                for name, t in env.tables.items()
                if t.logical_name in wanted
            ]
            if select := [c for c in query.get("$select", "").split(",") if c]:
                unknown = [c for c in select if value and c not in value[0]]
                if unknown:
                    message = (
                        f"Could not find a property named '{unknown[0]}' on type "
                        "'Microsoft.Dynamics.CRM.EntityMetadata'."
                    )
                    return self._answer(received, 400, odata_error("0x80060888", message))
                value = [{"MetadataId": v["MetadataId"]} | {c: v[c] for c in select} for v in value]
            return self._answer(
                received,
                200,
                {"@odata.context": f"{env.url}{env.api_path}$metadata#EntityDefinitions", "value": value},
            )

        def _who_am_i(self, received):
            # The WhoAmI function (webapi/use-web-api-functions, "Unbound functions"):
            # the caller's user, business unit and organization.
            return self._answer(
                received,
                200,
                {
                    "@odata.context": f"{env.url}{env.api_path}$metadata#Microsoft.Dynamics.CRM."
                    "WhoAmIResponse",
                    "BusinessUnitId": str(uuid.uuid5(uuid.NAMESPACE_URL, "root business unit")),
                    "UserId": env.user_id,
                    "OrganizationId": str(uuid.uuid5(uuid.NAMESPACE_URL, env.url)),
                },
            )

        def _user_privilege(self, received, user_id, name):
            # RetrieveUserPrivilegeByPrivilegeName (security-access-coding.md): RolePrivileges, each
            # with its Depth (PrivilegeDepth: Basic, Local, Deep, Global); none when not held.
            if user_id != env.user_id:
                message = f"systemuser With Id = {user_id} Does Not Exist"
                return self._answer(received, 404, odata_error("0x80040217", message))
            known = {p["Name"]: p for t in env.tables.values() for p in t.privileges}
            if name not in known:
                message = f"The privilege {name} does not exist."
                return self._answer(received, 404, odata_error("0x80040217", message))
            depth = env.privilege_depths.get(name, "Global")
            unit = str(uuid.uuid5(uuid.NAMESPACE_URL, "root business unit"))
            held = [{"Depth": depth, "PrivilegeId": known[name]["PrivilegeId"], "PrivilegeName": name,
                     "BusinessUnitId": unit}] if depth else []  # fmt: skip
            return self._answer(received, 200, {"RolePrivileges": held})

        def _record_counts(self, received, query):
            # RetrieveTotalRecordCount (webapi samples, "Unbound Function RetrieveTotalRecordCount"):
            # each table's count, from a snapshot; Keys and Values in the order asked.
            try:
                names = json.loads(query.get("@p1", ""))
            except ValueError:
                return self._answer(received, 400, odata_error("0x80060888", "EntityNames is not a list."))
            counts = {t.logical_name: len(t.rows) for t in env.tables.values()}
            keys = [n for n in names if n in counts]
            collection = {
                "Count": len(keys),
                "IsReadOnly": False,
                "Keys": keys,
                "Values": [counts[k] for k in keys],
            }
            return self._answer(received, 200, {"EntityRecordCountCollection": collection})

        def _choice(self, received, logical_name, column, query):
            # webapi/query-metadata-web-api: a choice column's options through the
            # PicklistAttributeMetadata cast, $expand=OptionSet; each label in UserLocalizedLabel.
            table = next((t for t in env.tables.values() if t.logical_name == logical_name), None)
            if table is None or table.columns.get(column) != "Picklist":
                message = f"Could not find attribute '{column}' on entity '{logical_name}'."
                return self._answer(received, 404, odata_error("0x80040217", message))
            options = [
                {"Value": value, "Label": {"UserLocalizedLabel": {"Label": label, "LanguageCode": 1033},
                                           "LocalizedLabels": [{"Label": label, "LanguageCode": 1033}]}}
                for value, label in table.choices.get(column, {}).items()
            ]  # fmt: skip
            body = {"LogicalName": column, "MetadataId": str(uuid.uuid5(uuid.NAMESPACE_URL, column))}
            if "OptionSet" in query.get("$expand", ""):
                body["OptionSet"] = {"Options": options}
            return self._answer(received, 200, body)

        def _attributes(self, received, logical_name, query):
            # webapi/query-metadata-web-api#retrieve-attributes: LogicalName and AttributeType.
            table = next((t for t in env.tables.values() if t.logical_name == logical_name), None)
            if table is None:
                message = f"Could not find entity with logical name '{logical_name}'."
                return self._answer(received, 404, odata_error("0x80040217", message))
            value = [
                {"LogicalName": c, "AttributeType": t}
                | ({"MaxLength": table.max_lengths[c]} if c in table.max_lengths else {})
                for c, t in table.columns.items()
            ]
            return self._answer(received, 200, {"value": value})

        def _choices_or_relationships(self, received, logical_name, what):
            # query-metadata-web-api#retrieve-attributes (the cast to PicklistAttributeMetadata,
            # its OptionSet expanded) and #retrieve-relationships (ManyToOneRelationships).
            table = next((t for t in env.tables.values() if t.logical_name == logical_name), None)
            if table is None:
                message = f"Could not find entity with logical name '{logical_name}'."
                return self._answer(received, 404, odata_error("0x80040217", message))
            if what == "ManyToOneRelationships":
                value = [
                    {"ReferencingAttribute": column, "ReferencedEntity": entity,
                     "ReferencingEntityNavigationPropertyName": nav}
                    for nav, (column, entity, _) in table.navigation.items()
                ]  # fmt: skip
            else:
                value = [
                    {"LogicalName": column, "OptionSet": {"Options": [
                        {"Value": v, "Label": {"UserLocalizedLabel": {"Label": label}}}
                        for v, label in options.items()]}}
                    for column, options in table.options.items()
                ]  # fmt: skip
            return self._answer(received, 200, {"value": value})

        @staticmethod
        def _shape(row, select, annotate, key):
            columns = [key, *select] if select else [c for c in row if "@" not in c]
            shaped = {"@odata.etag": row.get("@odata.etag", 'W/"1"')}
            for column in dict.fromkeys(columns):
                shaped[column] = row.get(column)
                for suffix in annotate:
                    if column + suffix in row:
                        shaped[column + suffix] = row[column + suffix]
            return shaped

        def _answer(self, received, status, body, headers=None):
            with env.changed:  # another reader's answer waits while a pause is being shared
                env.changed.wait_for(lambda: env.holding_for in ("", received.who), timeout=15)
                received.answered_seq = next(env._events)
            received.answered = status
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("OData-Version", "4.0")
            self.send_header("x-ms-dop-hint", str(env.dop_hint))
            if body is not None:
                self.send_header("Content-Type", "application/json; odata.metadata=minimal")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None

    return Handler
