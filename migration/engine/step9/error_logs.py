"""Reading dual-write error logs in every form people have them, in batches (flat memory).

The forms:
- a table (CSV or xlsx) with a message column: the initial sync's downloaded error file, the
  table map's activity log download, the data management (DMF) execution or staging log export.
  Column names vary; they are found by likely names in any case. A key and a company column are
  used when present.
- text: the error details copied from the dual-write page (Initial sync details, activity log),
  one message or many, saved as .txt or pasted. Messages are separated by blank lines, or one a
  line; a multi-line message (an execution summary with its stack trace) stays one message.
- a workbook whose first column holds messages without a header row (messages pasted into Excel).

Anything else is refused with what was expected (`error_log_form`), before a worker reads it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ..errors import EngineError
from ..files.reading import SAMPLE_BYTES, CsvSource, XlsxSource, detect_encoding, open_source

TEXT_SUFFIXES = (".txt", ".log", ".text")
BATCH_MESSAGES = 20_000
MAX_MESSAGE_CHARS = 1 << 20  # a message longer than this is cut: nobody pastes one so long

_KEY_NAMES = (
    "recordkey", "key", "keyvalue", "keyvalues", "recordid", "record", "primarykey", "entitykey",
    "sourcekey", "integrationkey", "accountnumber", "customeraccount", "contactpersonid",
    "contactnumber", "salesordernumber", "salesquotationnumber", "ordernumber", "orderid",
    "quotenumber", "quoteid", "id",
)  # fmt: skip
_MESSAGE_NAMES = (
    "message", "errormessage", "error", "errordetails", "errordetail", "details", "detail",
    "description", "errordescription", "verboseerror", "errortext", "reason", "exception", "errors",
    "logtext", "messagetext", "infolog", "infologmessage", "log",
)  # fmt: skip
_COMPANY_NAMES = ("company", "dataareaid", "legalentity", "msdyncompany", "companyid", "companycode")
# Lines that carry on the message above them: stack traces, an execution summary's parts, a
# timestamped infolog line. (Not lower case: login.microsoftonline.com's message starts so.)
_CONTINUATION = re.compile(
    r"^(\s|at |\\?---|in [A-Z]:\\|stacktrace|message:|errorsdetails|executed leg|with exported|"
    r"importrecords|dual write initial sync failed|session id|root activity id|msg=|\]|\)|\}|"
    r"\d{1,2}/\d{1,2}/\d{4} \d|microsoft\.|system\.)",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"\w+\s+\w+.*\w+\s+\w+")  # a few words: a message, not a column name


def _squash(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", " ".join(str(header).split()).casefold())


def _find(headers: list[str], names: tuple[str, ...], contains: str | None = None) -> int | None:
    squashed = [_squash(h) for h in headers]
    for name in names:
        if name in squashed:
            return squashed.index(name)
    if contains:
        return next((i for i, h in enumerate(squashed) if contains in h), None)
    return None


@dataclass
class ErrorLogForm:
    """How one file is read: `form` is table, text or headerless; the columns used by name."""

    path: str
    form: str
    message: int | None = None
    key: int | None = None
    company: int | None = None
    headers: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, str | None]:
        name = lambda i: self.headers[i] if i is not None else None  # noqa: E731
        return {
            "form": self.form,
            "message": name(self.message),
            "key": name(self.key),
            "company": name(self.company),
        }


def _looks_like_a_message(header: str) -> bool:
    return len(header) > 40 and bool(_SENTENCE.search(header))


def _not_an_error_log(path: str, headers: list[str]) -> EngineError:
    shown = ", ".join(repr(h[:60]) for h in headers[:20])
    return EngineError(
        f"{os.path.basename(path)!r} is not an error log we can read: it has no message column "
        f"(headers found: {shown}). Upload the initial sync's error file or the table map's activity "
        "log (CSV or xlsx with a 'Message' column; a 'Key' and a 'Company' column are used too), the "
        "data management execution log export, or the error details copied from the dual-write page "
        "as text (.txt, or paste them)"
    )


def error_log_form(path: str | os.PathLike[str], name: str | None = None) -> ErrorLogForm:
    """The form of one error log, from its name and first bytes; EngineError when it is none."""
    path = os.fspath(path)
    shown = name or os.path.basename(path)
    if os.path.splitext(shown)[1].lower() in TEXT_SUFFIXES:
        _check_text(path, shown)
        return ErrorLogForm(path, "text")
    source = open_source(path)
    headers = list(source.headers)
    msg = _find(headers, _MESSAGE_NAMES, contains="error")
    msg = msg if msg is not None else _find(headers, (), contains="message")
    if msg is None:
        if headers and _looks_like_a_message(headers[0]):  # no header row: the first line is a message
            return ErrorLogForm(path, "text" if isinstance(source, CsvSource) else "headerless")
        raise _not_an_error_log(shown, headers)
    key = _find(headers, _KEY_NAMES)
    return ErrorLogForm(
        path, "table", msg, key if key != msg else None, _find(headers, _COMPANY_NAMES), headers
    )


def _check_text(path: str, shown: str) -> None:
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    try:
        encoding = detect_encoding(sample)
    except EngineError:
        raise EngineError(
            f"{shown!r} is named as text but holds binary data: save the error details as plain text "
            "(or paste them) and upload again"
        ) from None
    if not sample.decode(encoding, errors="ignore").strip():
        raise EngineError(f"{shown!r} holds no text: paste the error details and upload again")


# --- batches -------------------------------------------------------------------------------------


def error_batches(form: ErrorLogForm) -> Iterator[pa.Table]:
    """The file's messages in batches: row (1-based line or data row), key, company, message."""
    if form.form == "text":
        yield from _text_batches(form.path)
    elif form.form == "headerless":
        yield from _headerless_batches(form.path)
    else:
        yield from _table_batches(form)


def _batch(rows: np.ndarray, messages: list[str] | pa.Array, keys=None, companies=None) -> pa.Table:
    n = len(rows)
    empty = pa.array([""] * n, pa.string())
    return pa.table(
        {
            "row": pa.array(rows, pa.int64()),
            "key": keys if keys is not None else empty,
            "company": companies if companies is not None else empty,
            "message": pa.array(messages, pa.string()) if isinstance(messages, list) else messages,
        }
    )


def _table_batches(form: ErrorLogForm) -> Iterator[pa.Table]:
    source = open_source(form.path)
    wanted = sorted({i for i in (form.message, form.key, form.company) if i is not None})
    csv_source = isinstance(source, CsvSource)
    batches = source.batches(columns=wanted) if csv_source else source.batches()
    for b in batches:

        def pick(i: int, b=b) -> pa.Array:
            return b.arrow.column(wanted.index(i)) if csv_source else b.text(i)

        rows = np.arange(b.start + 1, b.start + 1 + b.num_rows, dtype=np.int64)
        yield _batch(
            rows,
            pick(form.message),
            pick(form.key) if form.key is not None else None,
            pick(form.company) if form.company is not None else None,
        )


def _headerless_batches(path: str) -> Iterator[pa.Table]:
    source = open_source(path)
    assert isinstance(source, XlsxSource)
    yield _batch(np.array([1], np.int64), [source.headers[0]])
    for b in source.batches():
        yield _batch(np.arange(b.start + 2, b.start + 2 + b.num_rows, dtype=np.int64), b.text(0))


def _text_batches(path: str) -> Iterator[pa.Table]:
    rows: list[int] = []
    messages: list[str] = []
    for line_number, message in _text_messages(path):
        rows.append(line_number)
        messages.append(message)
        if len(messages) >= BATCH_MESSAGES:
            yield _batch(np.array(rows, np.int64), messages)
            rows, messages = [], []
    if messages:
        yield _batch(np.array(rows, np.int64), messages)


def _text_messages(path: str) -> Iterator[tuple[int, str]]:
    """(first line, message) in the order written: a blank line ends a block; a block is one
    message when any of its lines carries on another, else one message a line."""
    with open(path, "rb") as handle:
        encoding = detect_encoding(handle.read(SAMPLE_BYTES))
    block: list[tuple[int, str]] = []
    size = 0
    with open(path, encoding=encoding, errors="replace", newline=None) as text:
        for number, line in enumerate(text, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or size > MAX_MESSAGE_CHARS:
                yield from _block_messages(block)
                block, size = [], 0
            if line.strip():
                block.append((number, line))
                size += len(line)
    yield from _block_messages(block)


def _block_messages(block: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    if not block:
        return
    if any(_CONTINUATION.match(line) for _, line in block[1:]):
        yield block[0][0], "\n".join(line for _, line in block)[:MAX_MESSAGE_CHARS]
        return
    for number, line in block:
        yield number, line.strip()
