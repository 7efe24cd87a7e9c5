"""A job's issues, by the million: counts and pages by cursor."""

import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from ..engine import ISSUE_CODES
from ..models import (
    JobIssue,
    TransformJob,
)

# --- a job's issues, by the million ------------------------------------------------------

ISSUES_PER_PAGE = 100
_CURSOR = re.compile(r"^(\d{1,10})\.(\d{1,19})$")  # "row.id" of the issue a page starts after


@dataclass
class IssuePage:
    """One page of a job's issues, in the shape the template reads from Django's Page, with the
    cursors of its first and last issue for the previous and next links (keyset paging)."""

    object_list: list
    number: int
    num_pages: int
    count: int

    @property
    def paginator(self) -> "IssuePage":
        return self

    def has_previous(self) -> bool:
        return self.number > 1

    def has_next(self) -> bool:
        return self.number < self.num_pages

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def before(self) -> str:
        return _cursor_of(self.object_list[0]) if self.object_list else ""

    @property
    def after(self) -> str:
        return _cursor_of(self.object_list[-1]) if self.object_list else ""


def _cursor_of(issue: JobIssue) -> str:
    return f"{issue.row}.{issue.id}"


def job_issue_count(job: TransformJob, *, severity: str = "", code: str = "") -> int:
    """How many issues the filters keep, from the report's counts: no count(*) over the table."""
    counts = job.summary.get("issue_counts", {})
    return sum(
        n
        for c, n in counts.items()
        if (not code or c == code) and (not severity or ISSUE_CODES.get(c, ("",))[0] == severity)
    )


@dataclass(frozen=True)
class IssueQuery:
    """What the results page asks: filters, and where the page starts. `page` is a number or
    "last"; `after` / `before` is the cursor ("row.id") of the issue next to the page."""

    severity: str = ""
    code: str = ""
    page: str = ""
    after: str = ""
    before: str = ""


def job_issue_page(job: TransformJob, query: IssueQuery) -> IssuePage:
    """A page of the job's issues in (row, id) order, read by keyset: the previous and next links
    carry the (row, id) of the issue beside the page, so each page is one index range of 100
    entries, whatever its depth. A page asked by number alone (first, last, a typed number) is
    found from the nearer end. The count is the report's; a filter combining a code with another
    severity than the code's is empty without a query."""
    count = job_issue_count(job, severity=query.severity, code=query.code)
    pages = max(1, -(-count // ISSUES_PER_PAGE))
    number = pages if query.page == "last" else int(query.page) if query.page.isdigit() else 1
    number = min(max(number, 1), pages)
    if not count:
        return IssuePage([], 1, 1, 0)
    # A code has one severity: filtering by the code alone lets its index serve the order.
    issues = JobIssue.objects.filter(job=job, **({"code": query.code} if query.code else {}))
    if query.severity and not query.code:
        issues = issues.filter(severity=query.severity)
    if after := _CURSOR.match(query.after):
        return IssuePage(_after(issues, *map(int, after.groups())), number, pages, count)
    if before := _CURSOR.match(query.before):
        return IssuePage(_before(issues, *map(int, before.groups())), number, pages, count)
    return IssuePage(_numbered(issues, number, count), number, pages, count)


def _after(issues: QuerySet, row: int, id_: int, size: int = ISSUES_PER_PAGE) -> list[JobIssue]:
    # (row, id) > (r, i) said so an index on (job, [code|severity,] row, id) starts at row r:
    # `row >= r` bounds the range, the OR only sorts out the issues of row r itself.
    later = issues.filter(Q(row__gt=row) | Q(id__gt=id_), row__gte=row)
    return list(later.order_by("row", "id")[:size])


def _before(issues: QuerySet, row: int, id_: int, size: int = ISSUES_PER_PAGE) -> list[JobIssue]:
    earlier = issues.filter(Q(row__lt=row) | Q(id__lt=id_), row__lte=row)
    return list(earlier.order_by("-row", "-id")[:size])[::-1]


def _numbered(issues: QuerySet, number: int, count: int) -> list[JobIssue]:
    """Page `number` without a cursor: the first and the last page are an index range from their
    end; a page in between skips index entries only ((row, id), no table rows), from the nearer end."""
    first = (number - 1) * ISSUES_PER_PAGE
    size = min(ISSUES_PER_PAGE, count - first)
    from_end = count - first - size
    if number == 1:
        return list(issues.order_by("row", "id")[:size])
    if from_end == 0:
        return list(issues.order_by("-row", "-id")[:size])[::-1]
    if first <= from_end:
        key = issues.order_by("row", "id").values_list("row", "id")[first - 1 : first]
        return _after(issues, *key[0], size=size) if key else []
    key = issues.order_by("-row", "-id").values_list("row", "id")[from_end - 1 : from_end]
    return _before(issues, *key[0], size=size) if key else []
