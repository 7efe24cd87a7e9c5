"""A small, strict Dataverse Web API (and F&O OData) for the tests: there is none to install.

It serves over TLS on 127.0.0.1 (the test CA of tests/entra.py) and only accepts access tokens
that the test OpenID provider signed for this environment (audience = its URL, not expired, not
revoked by `revoke_tokens()`, as an expired one is). Each behaviour follows an exchange Microsoft
documents; the article is named where the behaviour is built.
"""

import json
import re
import socket
import ssl
import threading
import time
import uuid
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

# Seconds after a 429 during which another request of the same user is taken as already on its
# way (sent before the client could know), not as one sent during the pause.
IN_FLIGHT = 0.2


LOOKUP_TYPES = {"Lookup", "Customer", "Owner"}


@dataclass
class Table:
    """An entity set: its logical name, primary key, its columns (logical name -> AttributeType),
    and its rows (raw values, with formatted-value annotations where Dataverse gives them; a
    lookup's value under _<name>_value, as the Web API names it)."""

    logical_name: str
    key: str
    columns: dict[str, str]
    rows: list[dict] = field(default_factory=list)
    # Metadata the write-back reads and the emulator enforces on updates, as Dataverse does:
    max_lengths: dict[str, int] = field(default_factory=dict)  # text column -> MaxLength
    options: dict[str, dict[int, str]] = field(default_factory=dict)  # choice -> value -> label
    # navigation property -> (lookup column, referenced entity, its entity set)
    navigation: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    closed: dict[int, str] = field(default_factory=dict)  # statecode -> why updates are refused

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


class Emulator:
    """The environment's state: tables, scripted faults, and every request received."""

    def __init__(
        self, ca, *, issuer: str, default_page_size: int = 5000, api_path: str = API, dop_hint: int = 4
    ):
        self.ca, self.issuer, self.api_path = ca, issuer, api_path
        self.default_page_size, self.dop_hint = default_page_size, dop_hint
        self.default_company = "usmf"  # F&O: the application user's company
        self.tables: dict[str, Table] = {}
        self.faults: list[tuple[int, str, object]] = []  # (on request number, kind, detail)
        self.received: list[Received] = []
        self.paused_since = self.paused_until = 0.0
        self.paused_by = "requests"
        self.in_flight = IN_FLIGHT
        self.during_pause: list[Received] = []  # requests the client sent while told to wait
        self.tokens_seen: set[str] = set()
        self.updated: list[str] = []  # the id of each record updated, once per update
        self.write_delay = 0.0  # seconds each $batch takes, to catch a worker in the middle
        self.user_id = "a0000000-0000-0000-0000-0000000000a1"  # the application user (WhoAmI)
        self.privileges = ["prvReadAccount", "prvWriteAccount", "prvReadSalesOrder", "prvWriteSalesOrder"]
        self.revoked: set[str] = set()
        self.lock = threading.Lock()
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
            return 404, odata_error("0x80060888", f"Resource not found for the segment '{path}'.")
        row = table.find(found.group(2))
        if row is None:
            return 404, odata_error(
                "0x80040217", f"{table.logical_name} With Id = {found.group(2)} Does Not Exist"
            )
        with self.lock:
            etag = row.get("@odata.etag", 'W/"1"')
            if if_match not in (None, "*", etag):
                message = "The version of the existing record doesn't match the RowVersion property provided."
                return 412, odata_error("0x80060882", message)
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
                return odata_error(
                    "0x80060888",
                    f"Could not find a property named '{name}' on type "
                    f"'Microsoft.Dynamics.CRM.{table.logical_name}'.",
                )
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
                status, answer = 400, odata_error("0x80060888", "The emulator batches PATCH only.")
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


def odata_error(code: str, message: str) -> dict:
    """Dataverse's error body (webapi/compose-http-requests-handle-errors#parse-errors-from-the-response)."""
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
                if paused and received.at > env.paused_since + env.in_flight:
                    env.during_pause.append(received)
            if paused:
                return self._throttled(received, env.paused_by, max(1, round(env.paused_until - received.at)))
            if throttles:
                return self._throttled(received, *throttles[0])
            if not self._authorised():
                return self._answer(received, 401, None)
            if url.path != env.api_path + "$batch":
                return self._answer(
                    received, 404, odata_error("0x80060888", "The emulator takes $batch only.")
                )
            boundary = self.headers.get("Content-Type", "").partition("boundary=")[2]
            continue_on_error = "odata.continue-on-error" in self.headers.get("Prefer", "")
            time.sleep(env.write_delay)
            payload, response_boundary = env.batch(body, boundary, continue_on_error)
            received.answered = 200
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/mixed; boundary={response_boundary}")
            self.send_header("OData-Version", "4.0")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return None

        def _receive(self, method, url):
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            received = Received(time.time(), method, url.path, query, self.headers.get("Prefer", ""))
            with env.lock:
                env.received.append(received)
            return received

        def do_GET(self):
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            received = Received(time.time(), "GET", url.path, query, self.headers.get("Prefer", ""))
            with env.lock:
                env.received.append(received)
                number = len(env.received)
                faults = [f for f in env.faults if f[0] == number]
                paused = received.at < env.paused_until
                # A request already on its way when the 429 left is not the client's fault.
                if paused and received.at > env.paused_since + env.in_flight:
                    env.during_pause.append(received)
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
                if kind == "status":
                    return self._answer(
                        received, detail, odata_error("0x80040216", "An unexpected error occurred.")
                    )
                if kind == "throttle":
                    return self._throttled(received, *detail)
            if not url.path.startswith(env.api_path):
                return self._answer(
                    received,
                    404,
                    odata_error("0x80060888", f"Resource not found for the segment '{url.path}'."),
                )
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

        def _throttled(self, received, kind, retry_after):
            # api-limits#retry-operations: every request must wait Retry-After seconds.
            with env.lock:
                if time.time() >= env.paused_until:
                    env.paused_since, env.paused_by = time.time(), kind
                env.paused_until = max(env.paused_until, time.time() + retry_after)
            code, message = SERVICE_PROTECTION[kind]
            return self._answer(received, 429, odata_error(code, message), {"Retry-After": str(retry_after)})

        def _read(self, received, entity_set, query):
            if entity_set == "WhoAmI":  # webapi/reference/whoami
                return self._answer(received, 200, {"UserId": env.user_id})
            if entity_set == f"systemusers({env.user_id})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()":
                # webapi/reference/retrieveuserprivileges: RolePrivileges, each named
                privileges = [{"PrivilegeName": name, "Depth": "Global"} for name in env.privileges]
                return self._answer(received, 200, {"RolePrivileges": privileges})
            if entity_set == "EntityDefinitions":
                return self._definitions(received, query)
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
                return self._answer(
                    received,
                    404,
                    odata_error("0x80060888", f"Resource not found for the segment '{entity_set}'."),
                )
            select = [c for c in query.get("$select", "").split(",") if c]
            for column in select:
                if column not in table.properties:
                    return self._answer(
                        received,
                        400,
                        odata_error(
                            "0x80060888",
                            f"Could not find a property named '{column}' on type "
                            f"'Microsoft.Dynamics.CRM.{table.logical_name}'.",
                        ),
                    )
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
                return self._answer(received, 400, odata_error("0x80060888", message))
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
            # A GUID is compared unquoted (query/filter-rows), text quoted.
            terms = [
                re.fullmatch(r"(\w+) eq '([^']*)'", t.strip())
                or re.fullmatch(r"(\w+) eq ([0-9a-fA-F]{8}-[0-9a-fA-F-]{27})", t.strip())
                for t in text.split(" or ")
            ]
            if not all(terms):
                return None
            return [r for r in rows if any(str(r.get(t[1], "")).lower() == t[2].lower() for t in terms)]

        def _definitions(self, received, query):
            # webapi/query-metadata-web-api: EntityDefinitions filtered by LogicalName.
            wanted = re.fullmatch(r"LogicalName eq '([a-z_0-9]+)'", query.get("$filter", ""))
            if not wanted:
                return self._answer(
                    received,
                    400,
                    odata_error("0x80060888", "The emulator filters EntityDefinitions by LogicalName only."),
                )
            value = [
                {
                    "MetadataId": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
                    "LogicalName": t.logical_name,
                    "SchemaName": t.logical_name,
                    "EntitySetName": name,
                    "PrimaryIdAttribute": t.key,
                    "PrimaryNameAttribute": "name",
                }
                for name, t in env.tables.items()
                if t.logical_name == wanted.group(1)
            ]
            return self._answer(
                received,
                200,
                {"@odata.context": f"{env.url}{env.api_path}$metadata#EntityDefinitions", "value": value},
            )

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
