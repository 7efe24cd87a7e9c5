"""The user's path through a running stack, over HTTP, as `make compose-smoke` drives it.

Signs in, creates a migration, uploads a sample export at step 2, waits for its
inspection, starts its step-8 job, waits for it, downloads the output and the
report, and checks that the output is byte for byte what `manage.py
p2c_transform` gives for the same file and settings on this machine. Standard
library only, so it runs from any Python 3.11. Exit 0 on success; 1 with the
reason otherwise.
"""

import argparse
import http.cookiejar
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

ROOT = Path(__file__).resolve().parents[1]
# The settings the job records in its report, as p2c_transform's options.
CLI_OPTIONS = ("company", "customer_group", "relationship_type", "language", "order_type", "date_order",
               "country", "headers")  # fmt: skip


class SmokeFailure(Exception):
    pass


class FormFields(HTMLParser):
    """The named inputs of the first form on a page whose action matches, with their values."""

    def __init__(self, action: str, page: str):
        super().__init__()
        self.action, self.page, self.inside, self.done, self.fields = action, page, False, False, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # A form without an action posts to the page it is on.
        if tag == "form" and not self.done and (attrs.get("action") or self.page).endswith(self.action):
            self.inside = True
        elif self.inside and tag in {"input", "select", "textarea"} and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind not in {"checkbox", "radio", "file", "submit"} or "checked" in attrs:
                self.fields.setdefault(attrs["name"], attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside, self.done = False, True


class Client:
    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.cookies))

    def csrf(self) -> str:
        return next((c.value for c in self.cookies if c.name == "csrftoken"), "")

    def request(self, path: str, data: bytes | None = None, headers: dict | None = None):
        request = Request(
            self.base + path, data=data, headers={"Referer": self.base + "/", **(headers or {})}
        )
        try:
            return self.opener.open(request, timeout=60)
        except HTTPError as error:
            raise SmokeFailure(f"{path}: HTTP {error.code}: {error.read()[:500]!r}") from error

    def get(self, path: str) -> tuple[str, bytes]:
        with self.request(path) as response:
            return response.geturl(), response.read()

    def submit(self, page: str, action: str, values: dict) -> str:
        """Fill the form at `action` on `page` as a browser would, post it, return the final URL."""
        _, html = self.get(page)
        form = FormFields(action, page)
        form.feed(html.decode())
        if not form.fields:
            raise SmokeFailure(f"no form posting to {action} on {page}")
        body = urlencode({**form.fields, **values}).encode()
        with self.request(action, body, {"Content-Type": "application/x-www-form-urlencoded"}) as response:
            return response.geturl()

    def upload(self, path: str, file: Path) -> dict:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
                f"{self.csrf()}\r\n--{boundary}\r\n"
                f'Content-Disposition: form-data; name="file"; filename="{file.name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + file.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Accept": "application/json",
                   "X-CSRFToken": self.csrf()}  # fmt: skip
        with self.request(path, body, headers) as response:
            return json.load(response)


def wait_for(what: str, probe, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := probe()) is not None:
            return value
        time.sleep(1)
    raise SmokeFailure(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_for_login_page(client: Client, timeout: float) -> None:
    def probe():
        try:
            client.get("/accounts/login/")
            return True
        except (SmokeFailure, URLError, ConnectionError, OSError):
            return None

    wait_for("the web service to answer", probe, timeout)


def status(client: Client, migration: str) -> dict:
    return json.loads(client.get(f"/migrations/{migration}/status.json")[1])


def expected_output(table: str, export: Path, settings: dict, folder: Path) -> bytes:
    output = folder / f"expected{export.suffix if export.suffix == '.csv' else '.csv'}"
    options = [f"--{key.replace('_', '-')}={settings[key]}" for key in CLI_OPTIONS if settings.get(key)]
    command = [
        sys.executable,
        str(ROOT / "manage.py"),
        "p2c_transform",
        table,
        str(export),
        str(output),
        *options,
    ]
    subprocess.run(command, check=True, cwd=ROOT, capture_output=True, timeout=300)
    return output.read_bytes()


def smoke(base: str, user: str, password: str, table: str, export: Path, timeout: float) -> str:
    client = Client(base)
    wait_for_login_page(client, timeout)
    after_login = client.submit(
        "/accounts/login/", "/accounts/login/", {"username": user, "password": password}
    )
    if "/accounts/login/" in after_login:
        raise SmokeFailure(f"could not sign in as {user}")
    created = client.submit("/migrations/new/", "/migrations/new/", {
        "name": "Compose smoke", "customer": "Contoso",
        "entities-0-code": "USMF", "entities-0-name": "Contoso Entertainment System USA",
    })  # fmt: skip
    if not (found := re.search(r"/migrations/(\d+)/", created)):
        raise SmokeFailure(f"creating a migration ended on {created}")
    migration = found[1]
    upload = client.upload(f"/migrations/{migration}/slots/export/{table}/upload/", export)

    def inspected():
        rows = [u for u in status(client, migration)["uploads"] if u["id"] == upload["id"]]
        return rows[0] if rows and rows[0]["state"] not in {"queued", "inspecting"} else None

    inspection = wait_for("the inspection", inspected, timeout)
    if inspection["state"] not in {"ready", "problems"}:
        raise SmokeFailure(f"the inspection ended {inspection['state']}: {inspection['message']}")
    client.submit(
        f"/migrations/{migration}/steps/initialize/", f"/migrations/{migration}/jobs/start/{table}/", {}
    )

    def finished():
        rows = [j for j in status(client, migration)["jobs"] if j["table"] == table]
        return rows[0] if rows and rows[0]["state"] in {"succeeded", "failed", "cancelled"} else None

    job = wait_for("the job", finished, timeout)
    if job["state"] != "succeeded":
        raise SmokeFailure(f"the job ended {job['state']}: {job['message']}")
    output = client.get(f"/migrations/{migration}/jobs/{job['id']}/csv/")[1]
    report = json.loads(client.get(f"/migrations/{migration}/jobs/{job['id']}/report/")[1])
    with tempfile.TemporaryDirectory() as folder:
        expected = expected_output(table, export, report["settings"], Path(folder))
    if output != expected:
        raise SmokeFailure(
            f"the job's output ({len(output)} bytes) differs from p2c_transform's ({len(expected)})"
        )
    return f"job {job['id']} wrote {report['rows_out']} {table} rows, identical to p2c_transform's output"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--table", default="order")
    parser.add_argument("--export", type=Path, default=ROOT / "tests/samples/sales-excel/order.csv")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    try:
        print(
            "compose-smoke:", smoke(args.url, args.user, args.password, args.table, args.export, args.timeout)
        )
    except (SmokeFailure, subprocess.CalledProcessError) as error:
        print(f"compose-smoke FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
