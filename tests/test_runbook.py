"""The runbook's contents against Microsoft's article (reference.md), and one order of tables."""

import re

from django.urls import reverse

from migration import runbook, selectors
from migration.engine import TABLES
from migration.models import ChecklistItem, Signoff
from migration.services import checklist, migrations
from migration.services.migrations import sync_run_key

from .helpers import migration_url

ENGINE_ORDER = list(TABLES)


def step_page(client, migration, slug: str) -> str:
    return client.get(migration_url("runbook", migration, step=slug)).content.decode()


def test_it_says_the_last_sync_goes_both_ways_and_what_is_lost():
    text = runbook.STEPS_BY_NUMBER[1].guidance
    assert "both systems" in text and "in both directions" in text
    assert "created in Sales and never synced to Finance and Operations is lost" in text
    assert "Sales holds the latest" not in text


def test_it_lists_the_data_integrator_projects_by_microsofts_template_names():
    assert runbook.DATA_INTEGRATOR_PROJECTS == (
        "Accounts (Sales to Fin and Ops) - Direct",
        "Contacts to Customers (Sales to Fin and Ops) - Direct",
        "Contacts (Sales to Fin and Ops) - Direct",
        "Sales Orders (Sales to Fin and Ops) - Direct",
        "Sales Orders (Fin and Ops to Sales) - Direct",
        "Sales Quotes (Sales to Fin and Ops) - Direct",
        "Sales Invoices (Fin and Ops to Sales) - Direct",
        "Products (Fin and Ops to Sales) - Direct",
    )


def test_it_gives_each_project_one_row_per_legal_entity_with_run_date_and_result(client_for, migration):
    rows = list(migration.items.filter(step=1).order_by("position", "id"))
    expected = [f"{p}, {code}" for p in runbook.DATA_INTEGRATOR_PROJECTS for code in ("USMF", "DEMF")]
    assert [r.title for r in rows] == expected
    assert {r.kind for r in rows} == {"sync_run"}
    page = step_page(client_for("consultant"), migration, "last-sync")
    assert page.count(">Run date") == len(expected) and page.count(">Result") == len(expected)


def test_it_adds_and_removes_a_legal_entitys_project_rows(migration, manager):
    entity = migrations.legal_entity_add(migration=migration, actor=manager, code="GBSI", name="Contoso UK")
    keys = [sync_run_key(p, "GBSI") for p in runbook.DATA_INTEGRATOR_PROJECTS]
    assert migration.items.filter(key__in=keys, step=1).count() == len(keys)
    migrations.legal_entity_remove(entity=entity, actor=manager)
    assert not migration.items.filter(key__in=keys).exists()


def test_it_keeps_the_contact_maps_off_until_step_9():
    assert "Customers V3 (contacts)" in runbook.MAPS_NOT_YET
    assert "CDS Contacts V2 (contacts)" in runbook.MAPS_NOT_YET
    assert "CDS Contacts V2 (contacts)" in runbook.STEPS_BY_NUMBER[6].warning


def test_it_marks_which_reference_maps_the_article_names(migration):
    named = [m for m, source in runbook.REFERENCE_MAPS if source == runbook.ARTICLE_NAMES]
    assert named == [
        "Customer groups (msdyn_customergroups)",
        "Terms of payment (msdyn_paymentterms)",
        "Payment schedule (msdyn_paymentschedules)",
    ]
    titles = list(migration.items.filter(step=6).values_list("title", flat=True))
    assert "Customer groups (msdyn_customergroups): named in the article" in titles
    assert "Units: our addition: step 9's maps look it up" in titles
    assert all(t.endswith((runbook.ARTICLE_NAMES, runbook.LOOKED_UP)) for t in titles)


def test_it_has_a_fixed_item_for_all_duplicate_detection_rules(migration, manager):
    checklist.duplicate_rule_record(migration=migration, actor=manager, name="Same email", table="Contact")
    rows = list(migration.items.filter(step=7).order_by("position", "id").values_list("title", flat=True))
    assert rows == ["Disable rule “Same email” (Contact)", "All duplicate detection rules disabled"]


def test_it_completes_a_step_without_items_by_its_sign_off(migration, manager):
    migration.items.filter(step=7).delete()
    assert selectors.progress_get(migration).steps[6].state == selectors.NOT_STARTED
    checklist.step_sign_off(migration=migration, step=7, actor=manager)
    assert selectors.progress_get(migration).steps[6].state == selectors.DONE


def test_it_reaches_all_steps_done_on_the_dashboard(client_for, migration, manager):
    migration.items.update(done=True)
    Signoff.objects.create(migration=migration, step=2, signed_by=manager)
    Signoff.objects.create(migration=migration, step=8, signed_by=manager)  # opens step 9
    progress = selectors.progress_get(migration)
    assert progress.current_step is None and progress.percent == 100
    assert "All steps done" in client_for("manager").get(reverse("dashboard")).content.decode()


def test_it_recommends_an_order_for_step_9_and_says_why():
    step = runbook.STEPS_BY_NUMBER[9]
    assert "the order the Microsoft runs" not in step.guidance
    assert "not an order" in step.guidance and "we recommend" in step.guidance
    assert "Parties and accounts come before contacts" in step.guidance
    assert "headers come before their lines" in step.guidance
    assert "Finance and Operations as its source" in step.guidance


def test_it_links_step_9_to_its_own_words_in_the_article():
    links = {s.number: s.article_url for s in runbook.STEPS}
    assert links[9] != links[6]
    assert links[9].endswith(
        "#:~:text=Open%20the%20Finance%20and%20Operations%20app%20and%20enable%20the%20table%20maps"
    )


def test_it_says_which_file_step_8_imports():
    text = runbook.STEPS_BY_NUMBER[8].guidance
    assert "Import only the import pack's files" in text and "a review copy is not for import" in text
    assert "update by their GUID" not in text


def test_it_lists_tables_in_the_engines_order_everywhere(client_for, migration):
    assert [k for k, _ in runbook.EXPORT_TABLES] == ENGINE_ORDER
    transformed = [k for k in ENGINE_ORDER if TABLES[k].transforms]
    assert [k for k, _ in runbook.TRANSFORM_TABLES] == transformed
    assert [s.table for s in selectors.upload_slots(migration)] == ENGINE_ORDER
    assert [r.table for r in selectors.job_rows(migration)] == transformed
    assert [r.table for r in selectors.sync_rows(migration)] == transformed
    step9 = [m for m in runbook.STEP9_MAPS]
    assert step9.index("CDS sales order headers (salesorders)") < step9.index(
        "CDS sales quotation header (quotes)"
    )
    client = client_for("consultant")
    page = step_page(client, migration, "initialize")
    route = re.findall(r'<article class="card table-route" id="import-([a-z_]+)"', page)
    assert route == transformed
    jobs = re.findall(r'data-job-table="([a-z_]+)"', page)
    assert jobs == transformed
    # The one exception: the import pack follows the order the import must run (the contract's).
    assert "account, contact, quote, quote products, order, order products" in page
    exports = re.findall(r'id="slot-([a-z_]+)"', step_page(client, migration, "exports"))
    assert exports == ENGINE_ORDER


def test_it_seeds_the_runbook_into_existing_migrations(migration):
    """The data migration's catalogue is frozen; it must agree with the runbook it was written for."""
    import importlib

    frozen = importlib.import_module("tests.migrations_before_squash.0013_runbook_as_the_article_says")
    assert frozen.PROJECTS == runbook.DATA_INTEGRATOR_PROJECTS
    assert frozen.STEP9 == runbook.STEP9_MAPS
    assert ChecklistItem.objects.filter(migration=migration, key="dup-all-disabled").exists()
