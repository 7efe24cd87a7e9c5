"""Fidelity to Microsoft's article as published (issue 20, items 19-22): every link into the article
lands on words the article has; the steps follow the article's numbering of actions; what the wizard
adds beyond the article says so.

The article is read from the shared docs beside the checkout (../shared/docs/article.md) when
there, and from the copy kept in tests/ otherwise, so a clone anywhere runs these; when both exist
they must be the same text."""

import importlib
import re
from html import unescape
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.urls import reverse

from migration import runbook
from migration.engine import TABLES
from migration.models import ChecklistItem

pytestmark = pytest.mark.django_db

HERE = Path(__file__).resolve().parent
COPY = HERE / "article.md"
SHARED = HERE.parent.parent / "shared" / "docs" / "article.md"


def article_text() -> str:
    """The article as a reader sees it: no front matter, no Markdown marks, one space between words."""
    text = COPY.read_text(encoding="utf-8").split("---", 2)[2]
    text = re.sub(r"\[!include[^\]]*\]\([^)]*\)", " ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("**", "").replace("#", " ")
    return " ".join(text.split()).casefold()


def fragments(url: str) -> list[str]:
    """The words a text fragment (#:~:text=[prefix-,]start[,end][,-suffix]) looks for."""
    directive = url.split("#:~:text=", 1)[1]
    parts = [unquote(p) for p in directive.split(",")]
    return [p.strip("-") if p.startswith("-") or p.endswith("-") else p for p in parts]


def test_the_copy_of_the_article_is_the_one_published_in_shared_docs():
    if SHARED.exists():
        assert COPY.read_text(encoding="utf-8") == SHARED.read_text(encoding="utf-8")
    assert "Initialization the tables listed in Step 2" in COPY.read_text(encoding="utf-8")


def test_every_step_links_the_article_at_words_it_has():
    text = article_text()
    for step in runbook.STEPS:
        assert step.article_url.startswith(runbook.ARTICLE_URL + "#:~:text="), step.label
        for words in fragments(step.article_url):
            assert " ".join(words.split()).casefold() in text, (step.label, words)


def test_every_link_into_the_article_on_every_step_page_lands_on_its_words(client_for, migration):
    text = article_text()
    found = 0
    for step in runbook.STEPS:
        page = client_for("consultant").get(reverse("runbook", args=[migration.id, step.slug]))
        links = re.findall(r'href="([^"]+)"', page.content.decode())
        for url in (u.replace("&amp;", "&") for u in links if u.startswith(runbook.ARTICLE_URL)):
            assert "#:~:text=" in url, url  # a link without one opens the article at its top
            for words in fragments(url):
                assert " ".join(words.split()).casefold() in text, (step.label, words)
            found += 1
    assert found >= len(runbook.STEPS)


def test_a_dash_in_the_words_does_not_end_the_fragment():
    url = runbook.article_section("Create a dual-write connection")
    assert url.endswith("#:~:text=Create%20a%20dual%2Dwrite%20connection")
    assert fragments(url) == ["Create a dual-write connection"]


def test_step_4_installs_and_step_5_creates_the_connection_as_the_article_numbers_them(migration):
    install, connection = runbook.STEPS_BY_NUMBER[4], runbook.STEPS_BY_NUMBER[5]
    assert "Install the dual-write solution" in install.guidance
    assert "install-link" not in {i.key for i in install.items}
    assert "install-link" in {i.key for i in connection.items}
    items = migration.items.filter(key__in=["install-link", "install-health-check"])
    assert set(items.values_list("step", flat=True)) == {5}
    rows = list(migration.items.filter(step=5).order_by("position").values_list("key", flat=True))
    assert rows[0] == "install-link" and rows[-1] == "install-health-check"  # legal entities between


def test_the_data_migration_moves_the_connection_of_existing_migrations_to_step_5(migration):
    from django.apps import apps

    ChecklistItem.objects.filter(key="install-link").update(step=4, position=3)
    frozen = importlib.import_module(
        "tests.migrations_before_squash.0020_runbook_steps_4_and_5_as_the_article"
    )
    frozen.forwards(apps, None)
    link = migration.items.get(key="install-link")
    assert (link.step, link.position) == (5, 0)
    assert {i.key: i.position for i in runbook.CONNECTION_ITEMS} == frozen.TO_STEP_5


def test_step_9_lists_the_articles_examples_and_says_which_maps_are_ours():
    guidance = runbook.STEPS_BY_NUMBER[9].guidance
    assert "The article's examples are account, quote, quote line, order and order line" in guidance
    assert "the contact maps" in guidance and "the invoice maps" in guidance
    assert "are our addition" in guidance
    assert "enable the account, contact, quote, order and invoice maps" not in guidance


def test_only_invoice_and_products_are_said_to_flow_one_way_as_the_article_says():
    assert "the Invoice table flows one way" in TABLES["invoice_products"].why_not
    assert "this table flows one way" not in TABLES["invoice_products"].why_not
    assert "this table flows one way" in TABLES["invoice"].why_not
    assert "this table flows one way" in TABLES["products"].why_not


def test_step_8_gives_the_articles_words_beside_the_columns_own_name(client_for, migration):
    page = client_for("consultant").get(reverse("runbook", args=[migration.id, "initialize"]))
    assert "<li>Invoice Customer (the article's “Invoice customer number”)</li>" in unescape(
        page.content.decode()
    )


def test_what_the_wizard_adds_beyond_the_article_says_so(client_for, migration):
    step = runbook.STEPS_BY_NUMBER
    assert "Our addition: a record created in Sales" in step[1].guidance
    assert "are the only copy" not in step[2].guidance  # step 3's backup is a copy too
    ours = {"sales-backup", "uninstall-di-projects", "install-prerequisites", "install-core",
            "install-orchestration", "install-health-check"}  # fmt: skip
    assert set().union(*(s.our_items for s in runbook.STEPS)) == ours
    page = client_for("consultant").get(reverse("runbook", args=[migration.id, "uninstall"]))
    # Each row carries the marker in its own fieldset, after its legend; the uninstall is the article's.
    rows = re.split(r'(?=<fieldset class="item)', page.content.decode())[1:]
    labelled = {re.search(r'id="item-([a-z0-9-]+)"', r)[1] for r in rows if "Our addition: the article" in r}
    assert labelled == {"sales-backup", "uninstall-di-projects"}
    limits = step[5].guidance
    assert "our addition" in limits.lower()
    assert "40 legal entities in an initial sync" in limits and "250 in live sync" in limits
    assert "our recommendation" in step[8].guidance
