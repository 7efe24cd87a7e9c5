"""Step 2 with real-size exports: parts, the 100,000-row flag, the sign-off gate; step 8 over parts."""

import csv
import io

import pytest
from django import forms as django_forms
from django.core.files.base import ContentFile
from django.urls import reverse

from migration import forms, gate, item_kinds, selectors
from migration.engine.rules import report as engine_report
from migration.models import Activity, CrossCheck, ExportUpload, JobState, UploadState
from migration.run_settings import settings_snapshot
from migration.services import checklist, job_worker, jobs, settings, uploads

ACCOUNT = ["(Do Not Modify) Account", "Account Name", "Account Number"]
CONTACT = ["(Do Not Modify) Contact", "Full Name", "Company Name", "Contact Number", "Is Active Customer"]


def _csv(name: str, headers: list[str], rows: list[list[str]]) -> ContentFile:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([headers, *rows])
    return ContentFile(buf.getvalue().encode("utf-8-sig"), name=name)


def _accounts(start: int, n: int) -> list[list[str]]:
    return [
        [f"00000000-0000-0000-0000-{i:012d}", f"Account {i}", f"ACC-{i}"] for i in range(start, start + n)
    ]


def _add(migration, actor, table, file, part=None) -> ExportUpload:
    upload = uploads.upload_create(
        migration=migration, table=table, kind="export", upload=file, actor=actor, part=part
    )
    uploads.upload_inspect(upload_id=upload.id)
    upload.refresh_from_db()
    return upload


def _only_in_use(migration, actor, tables):
    """Every other table marked not used, with a reason."""
    rows = [
        {"item_id": i.id, "details": {"status": "not_used", "reason": "No such records"}}
        for i in migration.items.filter(step=2)
        if i.key.removeprefix("export-") not in tables
    ]
    checklist.step_save(migration=migration, step=2, actor=actor, rows=rows)


def _run_check(migration):
    for check in CrossCheck.objects.filter(migration=migration, state=UploadState.QUEUED):
        uploads.cross_check_run(check_id=check.id)


def _reasons(migration) -> list[str]:
    return [r.text for r in gate.step2_gate(migration)]


def test_it_holds_a_table_in_parts_with_rows_per_part_and_the_total(migration, consultant):
    _add(migration, consultant, "account", _csv("account_1.csv", ACCOUNT, _accounts(0, 3)))
    _add(migration, consultant, "account", _csv("account_2.csv", ACCOUNT, _accounts(3, 2)))
    [slot] = [s for s in selectors.upload_slots(migration) if s.table == "account"]
    assert [(p.original_name, p.inspection["rows"]) for p in slot.parts] == [
        ("account_1.csv", 3),
        ("account_2.csv", 2),
    ]
    assert slot.total_rows == 5
    assert migration.items.get(key="export-account").details["row_count"] == 5


def test_it_keeps_the_earlier_file_when_a_part_is_replaced(migration, consultant):
    first = _add(migration, consultant, "account", _csv("account_1.csv", ACCOUNT, _accounts(0, 3)))
    _add(migration, consultant, "account", _csv("account_2.csv", ACCOUNT, _accounts(3, 2)))
    new = _add(
        migration, consultant, "account", _csv("account_1b.csv", ACCOUNT, _accounts(0, 4)), part=first.part
    )
    [slot] = [s for s in selectors.upload_slots(migration) if s.table == "account"]
    assert [p.original_name for p in slot.parts] == ["account_1b.csv", "account_2.csv"]
    assert slot.earlier == [first] and new.version == 3
    assert slot.total_rows == 6


def test_it_removes_a_part_but_keeps_its_file(migration, consultant):
    _add(migration, consultant, "account", _csv("account_1.csv", ACCOUNT, _accounts(0, 3)))
    second = _add(migration, consultant, "account", _csv("account_2.csv", ACCOUNT, _accounts(3, 2)))
    uploads.upload_remove(upload=second, actor=consultant)
    [slot] = [s for s in selectors.upload_slots(migration) if s.table == "account"]
    assert [p.original_name for p in slot.parts] == ["account_1.csv"]
    assert [e.original_name for e in slot.earlier] == ["account_2.csv"]
    assert Activity.objects.filter(description__startswith="Removed account_2.csv").exists()


def test_it_refuses_a_part_whose_columns_differ_and_names_them(migration, consultant):
    _add(migration, consultant, "account", _csv("account_1.csv", ACCOUNT, _accounts(0, 3)))
    other = _add(
        migration,
        consultant,
        "account",
        _csv("account_2.csv", [*ACCOUNT, "Owner"], [[*r, "x"] for r in _accounts(3, 1)]),
    )
    assert other.state == UploadState.FAILED
    assert "'Owner'" in other.state_message and "account_1.csv" in other.state_message
    assert any("account_2.csv" in r and "failed" in r for r in _reasons(migration))


def test_it_flags_and_confirms_a_part_of_exactly_the_export_limit(migration, consultant, monkeypatch):
    monkeypatch.setattr(engine_report, "EXPORT_LIMIT_ROWS", 3)
    part = _add(migration, consultant, "account", _csv("account_1.csv", ACCOUNT, _accounts(0, 3)))
    assert part.limit_unconfirmed
    assert any("probably cut off" in r for r in _reasons(migration))
    with pytest.raises(uploads.UploadError):
        uploads.upload_confirm_limit(upload=part, actor=consultant, reason=" ")
    uploads.upload_confirm_limit(upload=part, actor=consultant, reason="Sales shows 3 accounts")
    part.refresh_from_db()
    assert not part.limit_unconfirmed
    assert Activity.objects.filter(description__contains="Sales shows 3 accounts").exists()
    assert not any("probably cut off" in r for r in _reasons(migration))


def test_it_refuses_sign_off_for_each_reason_and_accepts_once_fixed(migration, manager, consultant):
    _only_in_use(migration, manager, {"account", "contact"})
    assert _reasons(migration) == [
        "Account has no export: upload it, or mark the table not used with a reason.",
        "Contact has no export: upload it, or mark the table not used with a reason.",
    ]
    _add(migration, consultant, "account", _csv("account_1.csv", ACCOUNT, _accounts(0, 2)))
    _add(
        migration, consultant, "account", _csv("account_2.csv", ACCOUNT, [[*_accounts(5, 1)[0][:2], "ACC-0"]])
    )
    bad = _add(
        migration, consultant, "contact", _csv("contact.csv", CONTACT[:3], [["c1", "Ann", "Account 0"]])
    )
    assert any("lacks the P2C column(s) Contact Number, Is Active Customer" in r for r in _reasons(migration))
    with pytest.raises(checklist.ChecklistError) as refused:
        checklist.step_sign_off(migration=migration, step=2, actor=manager)
    assert all(r.url for r in refused.value.reasons)
    good = [["c1", "Ann", "Account 0", "CON-1", "Yes"]]
    _add(migration, consultant, "contact", _csv("contact_fixed.csv", CONTACT, good), part=bad.part)
    _run_check(migration)
    [reason] = _reasons(migration)
    assert reason.startswith("Cross-file check error not acknowledged: Account:")
    check = selectors.latest_cross_check(migration)
    assert set(check.inputs) == {"account", "contact"}  # tables in use only
    [error] = gate.unacknowledged_errors(migration, check)
    with pytest.raises(uploads.UploadError, match="project manager"):
        uploads.finding_acknowledge(migration=migration, actor=consultant, reason="ok", **_key(error))
    uploads.finding_acknowledge(
        migration=migration, actor=manager, reason="F&O keeps the first", **_key(error)
    )
    assert _reasons(migration) == []
    checklist.step_sign_off(migration=migration, step=2, actor=manager)
    assert migration.signoffs.filter(step=2).exists()


def _key(finding: dict) -> dict:
    return {k: finding[k] for k in ("code", "table", "message")}


def test_it_needs_the_sales_backup_before_the_uninstall(migration, manager):
    _only_in_use(migration, manager, set())
    checklist.step_sign_off(migration=migration, step=2, actor=manager)
    first = migration.items.filter(step=3).order_by("position").first()
    assert first.kind == item_kinds.BACKUP
    with pytest.raises(checklist.ChecklistError, match="backup"):
        checklist.uninstall_confirm(migration=migration, actor=manager, typed_name=migration.name)
    checklist.item_update(item=first, actor=manager, details={"taken_on": "2026-11-30"})
    assert checklist.uninstall_confirm(migration=migration, actor=manager, typed_name=migration.name).done


def test_it_runs_a_job_over_every_part(migration, consultant):
    _add(migration, consultant, "account", _csv("account_1.csv", ACCOUNT, _accounts(0, 3)))
    _add(migration, consultant, "account", _csv("account_2.csv", ACCOUNT, _accounts(3, 2)))
    job = jobs.job_start(migration=migration, table="account", actor=consultant)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert [(p["file"], p["rows"]) for p in job.summary["parts"]] == [
        ("account_1.csv", 3),
        ("account_2.csv", 2),
    ]
    assert [f["part"] for f in job.summary["part_files"]] == [1, 2]
    assert job.summary["rows_by_company"] == {"USMF": 5}
    # The review copies say so, and never "part" (the import pack's word for files to import).
    names = [f[k].rsplit("/", 1)[-1] for f in job.summary["part_files"] for k in ("csv", "issues")]
    assert all("_part" not in n for n in names)
    assert [n for n in names if "review-copy" in n] == [names[0], names[2]]
    assert names[0].endswith("_review-copy-1.csv") and names[2].endswith("_review-copy-2.csv")


def test_it_gives_lines_their_order_company_in_the_job(migration, consultant):
    s = migration.init_settings
    s.company_rule_column, s.company_rule_map = "Name", {"Order 2": "DEMF"}
    s.save()
    order = ["(Do Not Modify) Order", "Order ID", "Name", "Customer"]
    _add(
        migration,
        consultant,
        "order",
        _csv("order.csv", order, [["o1", "ORD-1", "Order 1", "C"], ["o2", "ORD-2", "Order 2", "C"]]),
    )
    lines = ["(Do Not Modify) Order Product", "Order", "Existing Product"]
    _add(
        migration,
        consultant,
        "order_products",
        _csv("lines.csv", lines, [["l1", "Order 2", "Desk"], ["l2", "Order 7", "Lamp"]]),
    )
    job = jobs.job_start(migration=migration, table="order_products", actor=consultant)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.summary["rows_by_company"] == {"DEMF": 1, "USMF": 1}
    assert list(job.issues.values_list("row", "code")) == [(2, "header_not_found")]


def test_it_keeps_customer_group_and_language_per_legal_entity(migration, manager):
    entity = migration.legal_entities.get(code="DEMF")
    settings.init_settings_update(
        init_settings=migration.init_settings,
        actor=manager,
        values={"entities": {"DEMF": {"customer_group": "20", "language": "de"}}},
    )
    entity.refresh_from_db()
    assert (entity.customer_group, entity.language) == ("20", "de")
    assert settings_snapshot(migration)["companies"] == {"DEMF": {"customer_group": "20", "language": "de"}}
    assert Activity.objects.filter(description="Set the language of DEMF to de").exists()


def test_it_says_how_many_accounts_will_not_sync(migration, manager, consultant):
    s = migration.init_settings
    s.relationship_type_rule_column, s.relationship_type_rule_map = "Kind", {"Supplier": "Vendor"}
    s.save()
    rows = [[*r, kind] for r, kind in zip(_accounts(0, 3), ["Supplier", "Client", "Supplier"], strict=True)]
    _add(migration, consultant, "account", _csv("account.csv", [*ACCOUNT, "Kind"], rows))
    assert selectors.accounts_not_syncing(migration).count is None  # the rule decides per account
    job = jobs.job_start(migration=migration, table="account", actor=consultant)
    job_worker.job_run(job_id=job.id)
    counted = selectors.accounts_not_syncing(migration)
    assert (counted.count, counted.total, counted.by_type) == (2, 3, {"Vendor": 2})


def _settings_post(migration, changes: dict) -> dict:
    """The step-8 settings form as the page shows it, with some fields changed."""
    form = forms.InitSettingsForm(instance=migration.init_settings)
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if isinstance(field, django_forms.BooleanField):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    return data | changes


def test_it_saves_per_entity_settings_and_the_relationship_rule_from_the_form(client_for, migration):
    url = reverse("init_settings", args=[migration.id])
    data = _settings_post(
        migration,
        {
            "entity_DEMF_customer_group": "DE20",
            "entity_DEMF_language": "de",
            "relationship_type_rule_column": "Relationship Type",
            "relationship_type_rule_text": "Prospect = Prospect\nSupplier = Vendor",
        },
    )
    response = client_for("manager").post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    snapshot = settings_snapshot(type(migration).objects.get(pk=migration.pk))
    assert snapshot["companies"] == {"DEMF": {"customer_group": "DE20", "language": "de"}}
    rule = snapshot["relationship_type_rule"]
    assert rule["source_column"] == "Relationship Type"
    assert rule["mapping"] == {"Prospect": "Prospect", "Supplier": "Vendor"}


def test_it_refuses_a_relationship_rule_without_its_column(client_for, migration):
    url = reverse("init_settings", args=[migration.id])
    data = _settings_post(migration, {"relationship_type_rule_text": "Supplier = Vendor"})
    page = client_for("manager").post(url, data).content.decode()
    assert "Name the column the relationship type rule reads." in page


# --- issue 20, item 1: the check runs whenever the set it covers changes -----------------------


def _mark(migration, actor, tables, status="not_used", reason="No such records"):
    rows = [
        {"item_id": i.id, "details": {"status": status, "reason": reason}}
        for i in migration.items.filter(key__in=[f"export-{t}" for t in tables])
    ]
    checklist.step_save(migration=migration, step=2, actor=actor, rows=rows)


def test_it_runs_the_check_when_the_last_tables_are_marked_not_used(migration, manager, consultant):
    _only_in_use(migration, consultant, ["account", "contact", "quote"])
    _add(migration, consultant, "account", _csv("account.csv", ACCOUNT, _accounts(0, 2)))
    _add(
        migration,
        consultant,
        "contact",
        _csv("contact.csv", CONTACT, [["c1", "Ann", "Account 0", "C-1", "Yes"]]),
    )
    assert not CrossCheck.objects.filter(migration=migration).exists()  # quote has no export yet

    _mark(migration, consultant, ["quote"])
    _run_check(migration)

    check = CrossCheck.objects.get(migration=migration)
    assert sorted(check.inputs) == ["account", "contact"]
    assert _reasons(migration) == []
    checklist.step_sign_off(migration=migration, step=2, actor=manager)


def test_it_runs_the_check_again_when_a_table_is_used_again(migration, consultant):
    _only_in_use(migration, consultant, ["account", "contact"])
    _add(migration, consultant, "account", _csv("account.csv", ACCOUNT, _accounts(0, 2)))
    _mark(migration, consultant, ["contact"])
    _run_check(migration)
    assert list(CrossCheck.objects.get(migration=migration).inputs) == ["account"]

    _mark(migration, consultant, ["contact"], status="", reason="")
    assert _reasons(migration)[0].startswith("Contact has no export: upload it, or mark the table not used")
    _add(
        migration,
        consultant,
        "contact",
        _csv("contact.csv", CONTACT, [["c1", "Ann", "Account 0", "C-1", "Yes"]]),
    )
    _run_check(migration)
    assert sorted(CrossCheck.objects.filter(migration=migration).first().inputs) == ["account", "contact"]
    assert _reasons(migration) == []


def test_a_manager_runs_the_check_on_demand_from_its_card(client_for, migration, consultant):
    _only_in_use(migration, consultant, ["account"])
    _add(migration, consultant, "account", _csv("account.csv", ACCOUNT, _accounts(0, 2)))
    _run_check(migration)
    client = client_for("manager")
    page = client.get(reverse("runbook", args=[migration.id, "exports"])).content.decode()
    assert "Run the check again" in page

    response = client.post(reverse("cross_check_run", args=[migration.id]), follow=True)

    assert "Cross-file check started" in response.content.decode()
    assert CrossCheck.objects.filter(migration=migration).count() == 2
    assert Activity.objects.filter(migration=migration, description="Ran the cross-file check").exists()


def test_only_a_manager_runs_the_check_on_demand(client_for, migration, consultant):
    _only_in_use(migration, consultant, ["account"])
    _add(migration, consultant, "account", _csv("account.csv", ACCOUNT, _accounts(0, 2)))
    response = client_for("consultant").post(reverse("cross_check_run", args=[migration.id]))
    assert response.status_code == 403


def test_the_card_says_what_the_check_waits_for(client_for, migration, consultant):
    _only_in_use(migration, consultant, ["account", "contact"])
    _add(migration, consultant, "account", _csv("account.csv", ACCOUNT, _accounts(0, 2)))
    client = client_for("manager")
    page = client.get(reverse("runbook", args=[migration.id, "exports"])).content.decode()
    assert "Waiting for: Contact has no export." in page
    assert 'href="#item-export-contact">Mark Contact not used in the checklist</a>' in page

    response = client.post(reverse("cross_check_run", args=[migration.id]), follow=True)
    assert "The cross-file check cannot run yet: Contact has no export." in response.content.decode()
    assert not CrossCheck.objects.filter(migration=migration).exists()


def test_a_refused_part_is_left_out_of_the_total_and_parts_read_part_and_version(
    client_for, migration, consultant
):
    _add(migration, consultant, "account", _csv("account_1.csv", ACCOUNT, _accounts(0, 3)))
    _add(
        migration,
        consultant,
        "account",
        _csv("account_2.csv", [*ACCOUNT, "Owner"], [[*_accounts(3, 1)[0], "x"]]),
    )
    [slot] = [s for s in selectors.upload_slots(migration) if s.table == "account"]
    assert slot.total_rows == 3
    assert migration.items.get(key="export-account").details["row_count"] == 3

    page = client_for("consultant").get(reverse("runbook", args=[migration.id, "exports"])).content.decode()
    assert "2 parts (1 refused, not counted), total" in page
    assert "<small>version 2 ·" in page and "<small>v2" not in page


def test_step_8_says_how_many_relationship_types_the_account_job_will_change(
    client_for, migration, consultant
):
    from .helpers import upload_inspected

    upload_inspected(migration, consultant, "account.csv")  # 133 Customer, 88 Prospect, 79 empty
    url = reverse("runbook", args=[migration.id, "initialize"])
    page = client_for("consultant").get(url).content.decode()
    assert "<li>88 Prospect → Customer</li>" in page and "<li>79 (empty) → Customer</li>" in page
    assert "Customer → Customer" not in page
    assert (
        "<q>You may not want to classify every account record as a customer in your business logic.</q>"
        in page
    )
    assert reverse("init_settings", args=[migration.id]) + "#id_relationship_type_rule_column" in page

    settings.init_settings_update(
        init_settings=migration.init_settings,
        actor=migration.created_by,
        values={"relationship_type_rule_column": "Relationship Type",
                "relationship_type_rule_map": {"Prospect": "Prospect"}},
    )  # fmt: skip
    page = client_for("consultant").get(url).content.decode()
    assert "<li>88 Prospect →" not in page and "<li>79 (empty) → Customer</li>" in page


def test_each_table_names_its_company_rule_column_and_one_without_it_takes_the_default_counted(
    client_for, migration, consultant
):
    from .helpers import upload_inspected

    client = client_for("manager")
    changes = {
        "company_rule_column": "Address 1: Country/Region",
        "company_rule_column_order": "Ship To Country",
        "company_rule_text": "France = DEMF",
    }
    client.post(reverse("init_settings", args=[migration.id]), _settings_post(migration, changes))
    s = migration.init_settings
    s.refresh_from_db()
    assert s.company_rule_columns == {"order": "Ship To Country"}
    step8 = client.get(reverse("runbook", args=[migration.id, "initialize"])).content.decode()
    assert "“Ship To Country” in the order export" in step8

    upload_inspected(migration, consultant, "order.csv")  # no column "Ship To Country"
    job = jobs.job_start(migration=migration, table="order", actor=consultant)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.message  # it failed on the missing column
    rows = job.summary["rows_in"]
    assert job.summary["company_rule_missing"] == {"Ship To Country": rows}
    page = client.get(reverse("job_detail", args=[migration.id, job.id])).content.decode()
    assert f"{rows} rows took the default company USMF: this export has no column “Ship To Country”" in page
