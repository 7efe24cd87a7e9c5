"""One client for the Dataverse Web API (Sales) and Finance and Operations' OData, following
Microsoft's documented behaviour:

- paging: `Prefer: odata.maxpagesize` (at most 5,000) and `@odata.nextLink` followed as given
  (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/page-results);
  F&O pages on its own (10,000 rows) and gives a nextLink likewise;
- formatted values of choices and lookups through `Prefer: odata.include-annotations`
  (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/select-columns#formatted-values);
- service protection: a 429 pauses every request of the connection for Retry-After, across workers
  (pauses.py); concurrency capped by `x-ms-dop-hint` and our own limit
  (https://learn.microsoft.com/power-apps/developer/data-platform/api-limits,
  .../send-parallel-requests);
- 502/503/504 and dropped connections retried with backoff; 401 refreshes the token once;
  other 4xx are never retried and carry Dataverse's error code and message
  (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/compose-http-requests-handle-errors#parse-errors-from-the-response).
"""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urljoin

import requests

from .pauses import LocalPauses, wait_out

MAX_PAGE_SIZE = 5000
FORMATTED_VALUES = (
    'odata.include-annotations="OData.Community.Display.V1.FormattedValue,'
    'Microsoft.Dynamics.CRM.lookuplogicalname"'
)
TRANSIENT_STATUSES = {502, 503, 504}
DROPPED = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class ApiError(Exception):
    """The environment refused a request; code and message as Dataverse (or F&O) gave them."""

    def __init__(self, status: int, code: str, message: str, url: str):
        self.status, self.code, self.message, self.url = status, code, message, url
        super().__init__(f"HTTP {status} {code}: {message}".replace(" : ", ": "))


class CannotConnect(Exception):
    """The environment could not be reached, or kept failing after every retry."""


@dataclass
class Page:
    number: int
    records: list[dict]
    next_link: str | None  # where the next page is, as the server gave it; None on the last


@dataclass
class Traffic:
    """What a client did, for progress and for the tests."""

    requests: int = 0
    throttled: int = 0
    paused_seconds: float = 0.0
    retried: int = 0
    token_refreshes: int = 0
    codes: list[str] = field(default_factory=list)  # the service-protection codes seen


@dataclass(frozen=True)
class Update:
    """One record's new values; `if_match` its @odata.etag when it was read (optimistic
    concurrency: changed since, it is refused with 412 and not overwritten)."""

    entity_set: str
    record_id: str
    values: dict
    if_match: str | None = None
    headers: tuple = ()  # (name, value) pairs for this update only, e.g. MSCRM.BypassBusinessLogicExecution


@dataclass(frozen=True)
class Outcome:
    status: int  # 204 updated; 412 changed since it was read; 400, 404 refused
    code: str = ""
    message: str = ""


class Slots:
    """At most `limit` requests in flight; the limit follows the server's x-ms-dop-hint."""

    def __init__(self, limit: int):
        self.limit = self.ceiling = max(1, limit)
        self._busy = 0
        self._free = threading.Condition()

    def __enter__(self):
        with self._free:
            self._free.wait_for(lambda: self._busy < self.limit)
            self._busy += 1

    def __exit__(self, *exc):
        with self._free:
            self._busy -= 1
            self._free.notify_all()

    def hint(self, value: str | None) -> None:
        if value and value.isdigit():
            with self._free:
                self.limit = max(1, min(self.ceiling, int(value)))
                self._free.notify_all()


class WebApiClient:
    """Requests to one environment as one principal. `api_path` is /api/data/v9.2/ for Dataverse
    and /data/ for F&O."""

    def __init__(
        self,
        base_url: str,
        *,
        tokens,
        api_path: str = "/api/data/v9.2/",
        pauses=None,
        max_concurrency: int = 4,
        retries: int = 5,
        backoff: float = 1.0,
        max_throttles: int = 50,
        timeout: float = 120.0,
        session=None,
        sleep=time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.api_url = self.base_url + api_path
        self.tokens = tokens
        self.pauses = pauses or LocalPauses()
        # Dataverse counts limits per user and web server: one pause per environment and principal.
        self.pause_key = f"{self.base_url}|{tokens.principal}"
        self.slots = Slots(max_concurrency)
        self.retries, self.backoff, self.max_throttles = retries, backoff, max_throttles
        self.timeout = timeout
        self.session = session or requests.Session()
        self.sleep = sleep
        self.traffic = Traffic()

    def url(self, path: str) -> str:
        return urljoin(self.api_url, path)

    def get_json(self, path: str, *, params: dict | None = None, prefer: str | None = None) -> dict:
        headers = {"Prefer": prefer} if prefer else {}
        return json_of(self.send("GET", self.url(path), params=params, headers=headers))

    def pages(
        self,
        entity_set: str,
        *,
        select: list[str] | None = None,
        filter: str | None = None,
        page_size: int | None = MAX_PAGE_SIZE,
        formatted_values: bool = True,
        params: dict | None = None,
        resume_from: str | None = None,
        first_number: int = 1,
    ) -> Iterator[Page]:
        """Every page of an entity set, following @odata.nextLink as given (never rebuilt: its
        skiptoken is the server's). `resume_from` is a nextLink stored from an earlier read."""
        if page_size is not None and not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"The page size must be 1 to {MAX_PAGE_SIZE}, not {page_size}.")
        prefer = []
        if page_size is not None:
            prefer.append(f"odata.maxpagesize={page_size}")
        if formatted_values:
            prefer.append(FORMATTED_VALUES)
        # The Prefer header must travel with every page, nextLinks included (page-results).
        headers = {"Prefer": ",".join(prefer)} if prefer else {}
        query = dict(params or {})
        if select:
            query["$select"] = ",".join(select)
        if filter:
            query["$filter"] = filter
        url, query = (resume_from, None) if resume_from else (self.url(entity_set), query)
        number = first_number
        while url:
            body = json_of(self.send("GET", url, params=query, headers=headers))
            next_link = body.get("@odata.nextLink")
            yield Page(number=number, records=body.get("value", []), next_link=next_link)
            url, query, number = next_link, None, number + 1

    def batch_update(self, updates: list[Update], *, continue_on_error: bool = True) -> list[Outcome]:
        """Updates in one $batch request, each with its outcome in order
        (webapi/execute-batch-operations-using-web-api). With continue-on-error every update is
        tried; without it the batch stops at the first refused one (the outcomes end there)."""
        boundary = f"batch_{uuid.uuid4()}"
        parts = [_batch_part(boundary, self.url(f"{u.entity_set}({u.record_id})"), u) for u in updates]
        body = ("".join(parts) + f"--{boundary}--\r\n").encode()
        headers = {"Content-Type": f"multipart/mixed; boundary={boundary}"}
        if continue_on_error:
            headers["Prefer"] = "odata.continue-on-error"
        return batch_outcomes(self.send("POST", self.url("$batch"), data=body, headers=headers))

    def send(self, method: str, url: str, **kwargs) -> requests.Response:
        """One request, honouring pauses, the concurrency cap, retries and one token refresh."""
        failures = throttles = 0
        refreshed = False
        while True:
            self.traffic.paused_seconds += wait_out(self.pauses, self.pause_key, sleep=self.sleep)
            token = self.tokens.token()
            try:
                response = self._request(method, url, token, **kwargs)
            except DROPPED as error:
                failures = self._retry_or_raise(failures, f"the connection failed: {error}", url)
                continue
            if response.status_code == 429:
                throttles = self._pause_for(response, throttles, url)
            elif response.status_code == 401 and not refreshed:
                self.tokens.refresh(token)
                refreshed = True
                self.traffic.token_refreshes += 1
            elif response.status_code in TRANSIENT_STATUSES:
                failures = self._retry_or_raise(failures, f"HTTP {response.status_code}", url)
            elif response.status_code >= 400:
                raise api_error(response)
            else:
                self.slots.hint(response.headers.get("x-ms-dop-hint"))
                return response

    def _request(self, method, url, token, *, headers=None, **kwargs) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "OData-MaxVersion": "4.0",
            "OData-Version": "4.0",
            **(headers or {}),
        }
        with self.slots:
            self.traffic.requests += 1
            return self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs)

    def _pause_for(self, response, throttles: int, url: str) -> int:
        """Every request of the connection waits Retry-After seconds (api-limits#retry-operations)."""
        if throttles >= self.max_throttles:
            raise api_error(response)
        seconds = float(response.headers.get("Retry-After") or 1)
        self.pauses.pause(self.pause_key, seconds)
        self.traffic.throttled += 1
        self.traffic.codes.append(error_of(response)[0])
        return throttles + 1

    def _retry_or_raise(self, failures: int, what: str, url: str) -> int:
        if failures >= self.retries:
            raise CannotConnect(f"{self.base_url} kept failing ({what}) after {failures} retries.")
        self.traffic.retried += 1
        self.sleep(self.backoff * 2**failures)
        return failures + 1


def _batch_part(boundary: str, url: str, update: Update) -> str:
    if_match = f"If-Match: {update.if_match}\r\n" if update.if_match else ""
    if_match += "".join(f"{name}: {value}\r\n" for name, value in update.headers)
    return (
        f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"PATCH {url} HTTP/1.1\r\nContent-Type: application/json\r\n{if_match}\r\n"
        f"{json.dumps(update.values)}\r\n"
    )


def batch_outcomes(response) -> list[Outcome]:
    """Each application/http part of a $batch response: its status, and Dataverse's code and
    message when refused."""
    boundary = response.headers.get("Content-Type", "").partition("boundary=")[2].strip('"')
    outcomes = []
    for part in response.content.split(f"--{boundary}".encode())[1:]:
        if part.startswith(b"--"):
            break
        inner = part.split(b"\r\n\r\n", 1)[1]  # after the part's own headers
        head, _, body = inner.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        error = json.loads(body).get("error", {}) if body.strip() else {}
        outcomes.append(Outcome(status, str(error.get("code", "")), str(error.get("message", ""))))
    return outcomes


def json_of(response) -> dict:
    """The body, numbers as Decimals: a value is written as the environment sent it (192206.0
    stays 192206.0, 0.1 is not 0.1000000000000000055511151231257827)."""
    return json.loads(response.content, parse_float=Decimal)


def error_of(response) -> tuple[str, str]:
    """Dataverse's {"error": {"code", "message"}}; F&O's has the same shape."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return "", response.text.strip()[:500] or response.reason
    return str(error.get("code", "")), str(error.get("message", ""))


def api_error(response) -> ApiError:
    code, message = error_of(response)
    return ApiError(response.status_code, code, message, response.url)
