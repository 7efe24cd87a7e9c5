"""Date cells of the receipt date chain: parsing per date order, and `auto` detection.

Locale dates such as 3/27/2020 are ambiguous only when both the first two parts
are 12 or less; `auto` looks for a value that settles the order and refuses the
file when none does (never guess: a wrong guess shifts every date silently).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from ..errors import EngineError

_DATE_RE = re.compile(r"^(\d{1,4})([/.\-])(\d{1,2})\2(\d{1,4})\.?(?:(?:T|\s+)(.*))?$")
_TIME_RE = re.compile(
    r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp]\.?[Mm]\.?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def _time_ok(text: str | None) -> bool:
    if not text:
        return True
    m = _TIME_RE.match(text.strip())
    if not m:
        return False
    hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
    limit = 12 if m[4] else 23
    return hour <= limit and minute < 60 and second < 60 and not (m[4] and hour == 0)


def time_ok(tail: str) -> bool:
    """The rest of a cell after its date: nothing, or a valid time after a space or a 'T'."""
    if not tail.strip():
        return True
    if not (tail[0].isspace() or tail[0] == "T"):
        return False
    return _time_ok(tail[1:] if tail[0] == "T" else tail)


def _year(text: str) -> int | None:
    if len(text) == 4:
        return int(text)
    if len(text) == 2:  # Excel's two-digit-year rule: 00-29 -> 20xx, 30-99 -> 19xx
        return 2000 + int(text) if int(text) < 30 else 1900 + int(text)
    return None


def split(text: str) -> tuple[str, int, int, int] | None:
    """('ymd', y, m, d) or ('ab', a, b, y) for a date with the year last; None if not a date."""
    m = _DATE_RE.match(text.strip())
    if not m or not _time_ok(m[5]):
        return None
    first, second, third = m[1], int(m[3]), m[4]
    if len(first) == 4:
        return ("ymd", int(first), second, int(third)) if len(third) <= 2 else None
    year = _year(third)
    if year is None or len(first) > 2:
        return None
    return ("ab", int(first), second, year)


def parse(text: str, order: str) -> dt.date | None:
    """The calendar date of text under order (mdy/dmy/ymd); None when it is not a valid date."""
    parts = split(text)
    if parts is None:
        return None
    try:
        if parts[0] == "ymd":
            return dt.date(parts[1], parts[2], parts[3])
        if order == "mdy":
            return dt.date(parts[3], parts[1], parts[2])
        if order == "dmy":
            return dt.date(parts[3], parts[2], parts[1])
    except ValueError:
        return None
    return None


class DateOrder:
    """The date order of one file; with `auto`, learned from its values."""

    def __init__(self, setting: str) -> None:
        self.setting = setting
        self.order: str | None = None if setting == "auto" else setting
        self.seen: set[str] = set()  # mdy / dmy evidence
        self.ambiguous = 0
        self.example: str | None = None

    def observe(self, values: Iterable[str]) -> None:
        for v in values:
            parts = split(v)
            if parts is None or parts[0] != "ab":
                continue
            a, b = parts[1], parts[2]
            if a > 12 >= b:
                self.seen.add("dmy")
            elif b > 12 >= a:
                self.seen.add("mdy")
            elif a != b and a <= 12 and b <= 12:
                self.ambiguous += 1
                self.example = self.example or v
        if self.setting == "auto" and len(self.seen) > 1:
            raise EngineError(
                "the file's dates use both month-first and day-first order: fix the dates, or choose "
                "the date order (mdy or dmy) explicitly; rows that do not fit are then reported"
            )
        if self.setting == "auto" and self.seen:
            self.order = next(iter(self.seen))

    def require(self) -> str:
        """The order to parse with; fails when `auto` cannot tell."""
        if self.order:
            return self.order
        if self.ambiguous:
            raise EngineError(
                f"cannot tell the date order from the file (e.g. {self.example!r} could be month-first or "
                "day-first, and no date settles it): set the date order to mdy or dmy"
            )
        return "mdy"  # no ambiguous value: mdy and dmy parse every value the same


def iso_receipt(day: dt.date) -> str:
    """msdyn_requestedreceiptdate is time-zone independent: the source's calendar date at midnight UTC."""
    return f"{day.isoformat()}T00:00:00Z"
