"""The go-live evidence pack (printable page and workbook) and copying a migration."""

import datetime as dt
import hashlib
import io
import re

import pytest
from openpyxl import load_workbook

from migration import selectors
from migration.models import Activity, JobState, Membership, Migration, Purpose, Role
from migration.pack.workbook import SHEETS
from migration.services import checklist, sync
from migration.services.migrations import migration_copy
from migration.services.settings import init_settings_update

from .helpers import migration_url
from .helpers_sync import FNO, LOOKUP, csv_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def after_sync(migration, consultant, planted):
    check = sync.sync_check_create(
        migration=migration,
        kind="reconcile",
        table="account",
        files=[csv_file("customers.csv", FNO, planted["part1"] + planted["part2"])],
        actor=consultant,
    )
    sync.sync_check_run(check_id=check.id)
    errors = csv_file(
        "errors.csv", ["Key", "Message", "Company"], [["X1", LOOKUP, "USMF"], ["X2", "odd", "USMF"]]
    )
    triage = sync.sync_check_create(
        migration=migration, kind="triage", table="account", files=[errors], actor=consultant
    )
    sync.sync_check_run(check_id=triage.id)
    check.refresh_from_db()
    triage.refresh_from_db()
    assert check.state == triage.state == JobState.SUCCEEDED
    return check, triage


def workbook(response):
    return load_workbook(io.BytesIO(response.content))


def test_it_writes_a_workbook_with_every_sheet_from_the_database(migration, client_for, after_sync):
    check, triage = after_sync
    response = client_for("viewer").get(migration_url("evidence_pack_xlsx", migration))
    assert response.status_code == 200
    assert re.match(
        r'attachment; filename="contoso-cutover_evidence-pack_[\d_-]+\.xlsx"', response["Content-Disposition"]
    )
    wb = workbook(response)
    assert wb.sheetnames == list(SHEETS)
    summary = {row[0]: row[1] for row in wb["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Migration"] == "Contoso cutover" and summary["Pack created"] is not None
    steps = list(wb["Steps"].iter_rows(values_only=True))
    assert steps[0][:3] == ("Step", "Title", "State") and len(steps) == 10
    hashes = [row[3] for row in wb["Uploads"].iter_rows(min_row=2, values_only=True)]
    assert all(len(h) == 64 for h in hashes)
    assert check.files["missing"]["sha256"] in hashes and triage.files["errors"]["sha256"] in hashes
    recon = next(wb["Reconciliation"].iter_rows(min_row=2, max_row=2, values_only=True))
    assert recon[:4] == (check.id, "account", "Customers V3 (accounts)", "USMF")
    assert recon[4:9] == tuple(
        check.result["companies"][0][k] for k in ("expected", "arrived", "missing", "unexpected", "differing")
    )
    causes = {row[2]: row[5] for row in wb["Triage"].iter_rows(min_row=2, values_only=True)}
    assert causes == {"lookup_not_found": 1, "unknown": 1}
    stages = list(wb["Verification"].iter_rows(values_only=True))
    assert stages[0][2:7] == (
        "Exported (step 2)",
        "Transformed (step 8)",
        "Imported and verified",
        "Expected to sync",
        "Synced to F&O",
    )
    assert stages[1][:2] == ("Account", "USMF") and stages[1][4] == "not recorded"
    jobs = list(wb["Jobs"].iter_rows(min_row=2, values_only=True))
    assert "company=USMF" in jobs[0][15] and jobs[0][10] == 300
    activity = [row[4] for row in wb["Activity"].iter_rows(min_row=2, values_only=True)]
    assert any("Reconciliation #" in a for a in activity)


def test_it_logs_each_workbook_with_its_hash(migration, client_for):
    response = client_for("manager").get(migration_url("evidence_pack_xlsx", migration))
    digest = hashlib.sha256(response.content).hexdigest()
    assert response["X-Content-SHA256"] == digest
    assert Activity.objects.filter(migration=migration, description__contains=digest).exists()


def test_it_keeps_formula_like_text_as_text(migration, client_for):
    Migration.objects.filter(id=migration.id).update(customer='=HYPERLINK("http://evil")')
    wb = workbook(client_for("manager").get(migration_url("evidence_pack_xlsx", migration)))
    cell = next(c for row in wb["Summary"].iter_rows() for c in row if c.value == '=HYPERLINK("http://evil")')
    assert cell.data_type == "s"


def test_the_printable_page_has_its_pictures_and_print_css(migration, client_for, after_sync):
    response = client_for("viewer").get(migration_url("evidence_pack", migration))
    html = response.content.decode()
    assert html.count('<svg class="chart"') == 3
    assert "css/pack.css" in html and "css/charts.css" in html
    assert " style=" not in html and "<script>" not in html
    assert (
        "Progress per step" in html and "Rows per table and company" in html and "Row issues by code" in html
    )
    check, _triage = after_sync
    assert check.files["missing_rows"]["sha256"] in html
    assert "A lookup not found" in html


def test_the_pack_is_for_members_only(migration, client_for):
    assert client_for("outsider").get(migration_url("evidence_pack", migration)).status_code == 404
    assert client_for("outsider").get(migration_url("evidence_pack_xlsx", migration)).status_code == 404


def test_the_pack_page_reads_a_fixed_number_of_queries(
    migration, client_for, after_sync, django_assert_max_num_queries
):
    client = client_for("viewer")
    with django_assert_max_num_queries(40):
        client.get(migration_url("evidence_pack", migration))


# --- copying a migration --------------------------------------------------------------------


def test_it_copies_entities_members_settings_and_rules_but_nothing_done(
    migration, manager, consultant, after_sync
):
    init_settings_update(
        init_settings=migration.init_settings,
        actor=manager,
        values={"customer_group": "30", "language": "de"},
    )
    checklist.duplicate_rule_record(
        migration=migration, actor=manager, name="Accounts with same name", table="account"
    )
    migration.legal_entities.filter(code="DEMF").update(customer_group="DE10", language="de")
    copy = migration_copy(source=migration, actor=manager, name="Contoso production")
    migration.refresh_from_db()
    assert (migration.purpose, copy.purpose, copy.copied_from) == (
        Purpose.REHEARSAL,
        Purpose.PRODUCTION,
        migration,
    )
    assert list(copy.legal_entities.values_list("code", flat=True)) == ["DEMF", "USMF"]
    # Per legal entity settings come along: the production run repeats the rehearsal's choices.
    assert copy.legal_entities.get(code="DEMF").customer_group == "DE10"
    assert copy.legal_entities.get(code="DEMF").language == "de"
    roles = {m.user.username: m.role for m in Membership.objects.filter(migration=copy)}
    assert roles == {
        "mia-manager": Role.MANAGER,
        "carl-consultant": Role.CONSULTANT,
        "vera-viewer": Role.VIEWER,
    }
    s = copy.init_settings
    assert (s.company, s.customer_group, s.language) == ("USMF", "30", "de")
    titles = set(copy.items.values_list("title", flat=True))
    assert "Disable rule “Accounts with same name” (account) (from the rehearsal: confirm)" in titles
    assert "Re-enable rule “Accounts with same name” (account) (from the rehearsal: confirm)" in titles
    assert not copy.items.filter(done=True).exists()
    assert not copy.uploads.exists() and not copy.jobs.exists() and not copy.sync_checks.exists()
    assert not copy.signoffs.exists()
    assert copy.items.count() == migration.items.count()


def test_a_copy_starts_at_step_1_with_the_environments_and_go_live_its_form_asks_for(
    migration, manager, client_for
):
    Migration.objects.filter(id=migration.id).update(
        fno_url="https://rehearsal.operations.dynamics.com", ce_url="https://rehearsal.crm.dynamics.com",
        go_live=dt.date(2026, 11, 1),
    )  # fmt: skip
    checklist.duplicate_rule_record(migration=migration, actor=manager, name="Same name", table="account")
    client = client_for("manager")
    url = migration_url("migration_copy", migration)
    form = client.get(url).content.decode()
    assert "The rehearsal&#x27;s was https://rehearsal.operations.dynamics.com: give the new one." in form
    assert "The rehearsal&#x27;s was 2026-11-01: give the new one." in form

    new_run = {"fno_url": "https://prod.operations.dynamics.com", "go_live": "2026-12-20"}
    client.post(url, {"name": "Contoso production", "purpose": "production", **new_run})

    copy = Migration.objects.get(name="Contoso production")
    assert (copy.fno_url, copy.ce_url, copy.go_live) == (
        "https://prod.operations.dynamics.com",
        "",
        dt.date(2026, 12, 20),
    )  # the rehearsal's customer engagement URL is not kept silently
    progress = selectors.progress_get(copy)
    assert progress.current_step.step.number == 1 and progress.steps[6].state == "not_started"


def test_only_a_manager_copies_and_the_dashboard_shows_which_is_which(migration, client_for):
    url = migration_url("migration_copy", migration)
    assert client_for("consultant").post(url, {"name": "x", "purpose": "production"}).status_code == 403
    client = client_for("manager")
    response = client.post(url, {"name": "Contoso production", "purpose": "production"})
    copy = Migration.objects.get(name="Contoso production")
    assert response.url == migration_url("migration_detail", copy)
    html = client.get("/").content.decode()
    assert "purpose-rehearsal" in html and "purpose-production" in html
    assert re.search(r"Contoso production</a>.*copied from\s*<a[^>]*>Contoso cutover</a>", html, re.S)
