"""The job page's issues: keyset paging forward, back and to the last page, filters, empty
results, and only for the migration's members."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from migration import selectors
from migration.models import ExportUpload, JobIssue, JobState, TransformJob, UploadKind, UploadState

# 250 issues: rows 1..125 hold a warning and an error each, so pages cut through a row's issues.
ROWS = 125
CODES = {"company_not_mapped": "warning", "bad_date": "error"}


@pytest.fixture
def job(migration, consultant):
    source = ExportUpload.objects.create(
        migration=migration, table="order", kind=UploadKind.EXPORT, version=1, file="x/order.csv",
        original_name="order.csv", size=10, sha256="0" * 64, uploaded_by=consultant,
        state=UploadState.READY, inspection={"rows": ROWS},
    )  # fmt: skip
    now = timezone.now()
    job = TransformJob.objects.create(
        migration=migration, table="order", state=JobState.SUCCEEDED, source=source, created_by=consultant,
        started_at=now, finished_at=now, progress=1, rows_done=ROWS, rows_total=ROWS,
        summary={"rows_in": ROWS, "issue_counts": dict.fromkeys(CODES, ROWS)},
    )  # fmt: skip
    JobIssue.objects.bulk_create(
        JobIssue(job=job, row=row, severity=severity, code=code, message=f"{code} in row {row}")
        for row in range(1, ROWS + 1)
        for code, severity in CODES.items()
    )
    return job


def every_issue(job, **filters) -> list[int]:
    return list(job.issues.filter(**filters).order_by("row", "id").values_list("id", flat=True))


def page_of(client, job, query: str = ""):
    url = reverse("job_detail", kwargs={"migration_id": job.migration_id, "job_id": job.id})
    response = client.get(url + query)
    assert response.status_code == 200
    return response


def ids(response) -> list[int]:
    return [i.id for i in response.context["page"].object_list]


def link(response, rel: str) -> str:
    """The query string of the pager link named `rel` (First, Previous, Next, Last)."""
    found = re.search(rf'<a href="(\?[^"]*)"[^>]*>{rel}</a>', response.content.decode())
    return found.group(1).replace("&amp;", "&") if found else ""


def test_it_pages_forward_by_the_next_links_to_the_end(client_for, job):
    client, expected = client_for("viewer"), every_issue(job)
    response, seen, numbers = page_of(client, job), [], []
    while True:
        seen += ids(response)
        numbers.append(response.context["page"].number)
        if not link(response, "Next"):
            break
        assert "after=" in link(response, "Next")
        response = page_of(client, job, link(response, "Next"))
    assert seen == expected and numbers == [1, 2, 3]
    assert len(ids(response)) == 50 and link(response, "Previous")


def test_it_pages_back_from_the_last_page_to_the_first(client_for, job):
    client, expected = client_for("viewer"), every_issue(job)
    response = page_of(client, job, "?page=last")
    pages = [ids(response)]
    assert response.context["page"].number == 3 and not link(response, "Next")
    while link(response, "Previous"):
        assert "before=" in link(response, "Previous")
        response = page_of(client, job, link(response, "Previous"))
        pages.insert(0, ids(response))
    assert [i for page in pages for i in page] == expected
    assert [len(p) for p in pages] == [100, 100, 50] and response.context["page"].number == 1
    assert not link(response, "First")


@pytest.mark.parametrize("number", ["1", "2", "3", "last", "9", "0", "x"])
def test_it_finds_a_page_asked_by_number_alone(client_for, job, number):
    expected = every_issue(job)
    page = page_of(client_for("viewer"), job, f"?page={number}").context["page"]
    at = {"last": 3, "9": 3, "0": 1, "x": 1}.get(number, number)
    assert page.number == int(at) and page.num_pages == 3 and page.count == 250
    assert [i.id for i in page.object_list] == expected[(int(at) - 1) * 100 : int(at) * 100]


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("?severity=error", {"severity": "error"}),
        ("?code=company_not_mapped", {"code": "company_not_mapped"}),
        ("?severity=warning&code=company_not_mapped", {"code": "company_not_mapped"}),
    ],
)
def test_it_filters_by_severity_and_code_across_pages(client_for, job, query, filters):
    client, expected = client_for("viewer"), every_issue(job, **filters)
    first = page_of(client, job, query)
    assert first.context["page"].count == ROWS and first.context["page"].num_pages == 2
    nxt = page_of(client, job, link(first, "Next"))
    last = page_of(client, job, link(first, "Last"))
    back = page_of(client, job, link(last, "Previous"))
    assert ids(first) + ids(nxt) == expected == ids(back) + ids(last)
    assert all(filters.items() <= vars(i).items() for i in nxt.context["page"].object_list)


@pytest.mark.parametrize(
    "query", ["?severity=error&code=company_not_mapped", "?code=bad_yes_no", "?severity=nonsense"]
)
def test_it_shows_no_issues_for_a_filter_that_keeps_none(client_for, job, query):
    response = page_of(client_for("viewer"), job, query + "&page=last")
    page = response.context["page"]
    assert (page.count, page.number, page.num_pages, page.object_list) == (0, 1, 1, [])
    assert "0 issues." in response.content.decode()


def test_it_shows_no_issues_of_a_job_without_any(client_for, job):
    TransformJob.objects.filter(id=job.id).update(summary={"rows_in": ROWS, "issue_counts": {}})
    job.issues.all().delete()
    page = page_of(client_for("viewer"), job).context["page"]
    assert (page.count, page.object_list) == (0, [])


def test_it_ignores_a_cursor_that_is_not_one(client_for, job):
    response = page_of(client_for("viewer"), job, "?after=1;DROP&before=x.y")
    assert ids(response) == every_issue(job)[:100]


def test_it_shows_a_job_s_issues_to_the_migration_s_members_only(client, client_for, job):
    url = reverse("job_detail", kwargs={"migration_id": job.migration_id, "job_id": job.id})
    assert client_for("outsider").get(url + "?page=last").status_code in (403, 404)
    client.logout()
    assert client.get(url).status_code == 302  # to the sign-in page


def test_it_never_shows_another_job_s_issues(client_for, job, consultant):
    other = TransformJob.objects.create(
        migration=job.migration, table="order", state=JobState.SUCCEEDED, source=job.source,
        created_by=consultant, summary={"issue_counts": {"bad_date": 1}},
    )  # fmt: skip
    JobIssue.objects.create(job=other, row=1, severity="error", code="bad_date", message="other")
    first = every_issue(job)[0]
    for query in ("", "?page=last", "?after=0.0&page=2", f"?before=999.{first + 10**6}&page=2"):
        page = page_of(client_for("viewer"), job, query).context["page"]
        assert all(i.job_id == job.id for i in page.object_list)


def test_the_selector_counts_from_the_report_without_a_count_query(job, django_assert_num_queries):
    with django_assert_num_queries(1):
        page = selectors.job_issue_page(job, selectors.IssueQuery(page="last"))
    assert page.count == 250 and len(page.object_list) == 50
