"""The nine steps of Microsoft's article, in our own words, and their checklists.

This is the static catalogue a new migration's checklist is seeded from. Items
that depend on the migration (legal entities, recorded duplicate detection
rules) are added by the services.
"""

from dataclasses import dataclass, field
from urllib.parse import quote

from .engine import TABLES
from .item_kinds import BACKUP, EXPORT, IMPORT_TABLE, REFERENCE_MAP, TABLE_MAP, TASK, UNINSTALL

ARTICLE_URL = (
    "https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/"
    "data-entities/dual-write/migrate-prospect-to-cash"
)


def article_section(phrase: str) -> str:
    """A link that scrolls the article to the step's own words (a text fragment: the phrase must
    occur in the article as published; tests/test_article_links.py checks it). "-" and "," are the
    fragment's own syntax, so they are escaped too."""
    return f"{ARTICLE_URL}#:~:text={quote(phrase, safe='').replace('-', '%2D')}"


@dataclass(frozen=True)
class ItemSpec:
    key: str
    title: str
    kind: str = TASK
    # Where the item sits among its step's rows; None: in the order the step lists them.
    position: int | None = None
    # Not asked for by the article: the row says "our addition".
    ours: bool = False


@dataclass(frozen=True)
class Panel:
    """What a step page shows between its guidance and its checklist.

    `context` is the dotted path of a function (membership) -> dict that fills
    the templates; it is resolved when a page is drawn, because it reads the
    models and this catalogue is imported by them.
    """

    templates: tuple[str, ...]
    context: str = ""
    script: str = ""
    # Drawn below the checklist: the checklist is what to do first (step 9's maps).
    after_checklist: bool = False


@dataclass(frozen=True)
class Step:
    number: int
    slug: str
    title: str
    guidance: str
    article_url: str
    items: tuple[ItemSpec, ...] = field(default_factory=tuple)
    warning: str = ""
    panel: Panel | None = None
    empty_text: str = "Nothing to check here."
    signoff_note: str = "Sign off when every item is done."
    # Finished checklist items folded under one line (steps 8 and 9: long checklists, one
    # workspace per table above them).
    fold_done: bool = False
    # The step whose sign-off opens this one, with what that sign-off vouches for.
    opened_by: int | None = None
    lock_reason: str = ""
    # A project manager may open it before that sign-off, with a reason (never step 3's uninstall).
    may_open_early: bool = False

    @property
    def our_items(self) -> frozenset[str]:
        """The keys of the items the article does not ask for."""
        return frozenset(i.key for i in self.items if i.ours)

    @property
    def label(self) -> str:
        return f"{self.number}. {self.title}"


# Microsoft's Prospect to cash templates in Data Integrator, one project per legal entity, in the
# engine's order of tables (accounts, contacts, orders, quotes, invoices, products).
DATA_INTEGRATOR_PROJECTS = (
    "Accounts (Sales to Fin and Ops) - Direct",
    "Contacts to Customers (Sales to Fin and Ops) - Direct",
    "Contacts (Sales to Fin and Ops) - Direct",
    "Sales Orders (Sales to Fin and Ops) - Direct",
    "Sales Orders (Fin and Ops to Sales) - Direct",
    "Sales Quotes (Sales to Fin and Ops) - Direct",
    "Sales Invoices (Fin and Ops to Sales) - Direct",
    "Products (Fin and Ops to Sales) - Direct",
)

# A column's own name in Sales, and the article's words for it where they differ.
ARTICLE_WORDS = {"Invoice Customer": "Invoice customer number"}


def in_article_words(column: str) -> str:
    """'Invoice Customer (the article's “Invoice customer number”)': the name to look for in Sales,
    and the words the article uses."""
    words = ARTICLE_WORDS.get(column)
    return f"{column} (the article's “{words}”)" if words else column


# Step 4: the article says "Install the dual-write solution"; what that takes is our addition.
INSTALL_ITEMS = (
    ("install-prerequisites", "System requirements and permissions checked"),
    ("install-core", "Dual-write core solution installed"),
    ("install-orchestration", "Dual-write application orchestration solutions installed"),
)
# Step 5, around its rows per legal entity (positions 1, 2, ...): the article's step 5 creates the
# connection, so linking the environments is here, and the health check after it.
CONNECTION_ITEMS = (
    ItemSpec("install-link", "Finance and Operations environment linked to Dataverse", position=0),
    ItemSpec("install-health-check", "Dual-write health check passed", position=10_000, ours=True),
)

# The tables of step 2, in the engine's order: the engine's table modules are
# the one place that knows them, so a new table module gets its checklist row.
EXPORT_TABLES = tuple((key, table.export_name) for key, table in TABLES.items())

ARTICLE_NAMES = "named in the article"
LOOKED_UP = "our addition: step 9's maps look it up"

# Step 6's maps: the article names three as examples; the others are ours, because the account,
# contact, quote and order maps of step 9 look them up and fail without them.
REFERENCE_MAPS = (
    ("Customer groups (msdyn_customergroups)", ARTICLE_NAMES),
    ("Terms of payment (msdyn_paymentterms)", ARTICLE_NAMES),
    ("Payment schedule (msdyn_paymentschedules)", ARTICLE_NAMES),
    ("Legal entities (cdm_companies)", LOOKED_UP),
    ("Payment schedule lines", LOOKED_UP),
    ("Payment days CDS", LOOKED_UP),
    ("Customer payment method", LOOKED_UP),
    ("Sales tax groups", LOOKED_UP),
    ("Currencies", LOOKED_UP),
    ("Units", LOOKED_UP),
    ("Sales order origin codes", LOOKED_UP),
    ("Delivery terms", LOOKED_UP),
    ("Modes of delivery", LOOKED_UP),
    ("Sites", LOOKED_UP),
    ("Warehouses", LOOKED_UP),
    ("CDS released distinct products (products)", LOOKED_UP),
)

# Enabling these before step 8 would sync uninitialized records: the article names the account,
# quote, quote line, order and order line maps; contacts need initializing too.
MAPS_NOT_YET = (
    "Customers V3 (accounts)",
    "Customers V3 (contacts)",
    "CDS Contacts V2 (contacts)",
    "CDS sales order headers (salesorders)",
    "CDS sales order lines (salesorderdetails)",
    "CDS sales quotation header (quotes)",
    "CDS sales quotation lines (quotedetails)",
)

# Step 9's maps in the order we recommend (the article gives examples, not an order), which is the
# engine's order of tables: a map runs after the maps it looks up.
STEP9_MAPS = (
    "Customers V3 (accounts)",
    "Customers V3 (contacts)",
    "CDS Contacts V2 (contacts)",
    "CDS sales order headers (salesorders)",
    "CDS sales order lines (salesorderdetails)",
    "CDS sales quotation header (quotes)",
    "CDS sales quotation lines (quotedetails)",
    "Sales invoice headers V2 (invoices)",
    "Sales invoice lines V2 (invoicedetails)",
)
STEP9_ORDER_WHY = (
    "Parties and accounts come before contacts, because a contact looks up its account (and, with the "
    "global address book, its party); headers come before their lines, because a line looks up its "
    "order, quote or invoice. Orders, quotes and invoices follow in the order the wizard lists tables "
    "everywhere."
)

# Step 8's tables: those the engine transforms, in the same order.
TRANSFORM_TABLES = tuple((key, table.export_name) for key, table in TABLES.items() if table.transforms)


def slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:60]


STEPS = (
    Step(
        1,
        "last-sync",
        "Last full sync",
        "Run every Prospect to cash project in Data Integrator one last time as a full "
        "synchronization, in both directions, so that both systems (Finance and Operations and Sales) "
        "have all the data. Our addition: a record created in Sales and never synced to Finance and "
        "Operations is lost when step 9's initial sync runs. Record each project's run date and "
        "result, per legal entity; check the customer's Data Integrator for the projects actually in "
        "use.",
        article_section("Run Prospect to cash Data Integrator jobs for one final full synchronization"),
        empty_text="This migration has no legal entities.",
    ),
    Step(
        2,
        "exports",
        "Export the Sales tables",
        "Export all nine tables from Sales to Excel or CSV, to avoid data loss. Uninstalling P2C in "
        "step 3 deletes its columns and their data: step 8 initializes the tables from these exports "
        "(our addition: step 3's backup of the environment can restore it, not feed step 8). Mark a "
        "table 'not used' only when the customer has no such records, and say why.",
        article_section("export the Prospect to cash data from the Dynamics 365 Sales"),
        tuple(ItemSpec(f"export-{key}", name, EXPORT) for key, name in EXPORT_TABLES),
        panel=Panel(("migration/_uploads.html",), "migration.wizard.uploads_panel", "js/uploads.js"),
        signoff_note="Signing off step 2 opens step 3 (uninstall).",
    ),
    Step(
        3,
        "uninstall",
        "Uninstall Prospect to cash",
        "Uninstall the Prospect to cash solution from the Sales environment. This step opens once a "
        "project manager has signed off the exports of step 2. The backup and the Data Integrator "
        "items are our addition: the article does not ask for them.",
        article_section("Uninstall the Prospect to cash solution from the Sales environment"),
        (
            ItemSpec(
                "sales-backup",
                "Backup of the Sales environment taken (Power Platform admin center): label or date",
                BACKUP,
                ours=True,
            ),
            ItemSpec("uninstall-p2c", "Prospect to cash solution uninstalled", UNINSTALL),
            ItemSpec("uninstall-di-projects", "Data Integrator P2C projects stopped and removed", ours=True),
        ),
        warning="Uninstalling deletes every column Prospect to cash added (msdynce_*) and the data in "
        "them. It cannot be undone. Make sure every table of step 2 is exported.",
        panel=Panel(("migration/_uninstall.html",), context="migration.wizard.uninstall_panel"),
        opened_by=2,
        lock_reason="every table exported (all parts inspected, cross-file check errors fixed or "
        "acknowledged) or marked not used with a reason",
    ),
    Step(
        4,
        "install",
        "Install dual-write",
        "Install the dual-write solution. The article says only that; the items below are our "
        "addition, from Microsoft's dual-write setup documentation. The connection between the two "
        "environments is step 5, as in the article.",
        article_section("Install the dual-write solution"),
        tuple(ItemSpec(key, title, ours=True) for key, title in INSTALL_ITEMS),
    ),
    Step(
        5,
        "connection",
        "Connect legal entities",
        "Create the dual-write connection between the Finance and Operations app and the customer "
        "engagement app for the legal entities of this migration: link the Finance and Operations "
        "environment to the Dataverse environment, then tick each legal entity once linked. Our "
        "addition (the article sets no limit): Microsoft's dual-write documentation allows at most 40 "
        "legal entities in an initial sync and 250 in live sync.",
        article_section("Create a dual-write connection"),
        CONNECTION_ITEMS,
        empty_text="This migration has no legal entities.",
    ),
    Step(
        6,
        "reference-data",
        "Sync reference data",
        "Enable the table maps for reference data and run their initial sync. The article names "
        "customer groups, terms of payment and payment schedules as examples; the other maps here are "
        "our additions, because the account, contact, quote and order maps look them up in step 9.",
        article_section("run the initial sync for the required reference data"),
        tuple(ItemSpec(f"ref-{slug(m)}", f"{m}: {source}", REFERENCE_MAP) for m, source in REFERENCE_MAPS),
        warning="Do not enable these maps yet: " + "; ".join(MAPS_NOT_YET) + ".",
    ),
    Step(
        7,
        "duplicate-detection",
        "Disable duplicate detection",
        "In Sales, go to Advanced Settings > System Settings > Data Management > Duplicate detection "
        "rules. Record each active rule here before you disable it: the wizard adds a 're-enable' item "
        "for it to step 9, because the article never says to turn them back on. The article says to "
        "disable all the rules: tick the last item once none is active.",
        article_section("and disable all the rules"),
        (ItemSpec("dup-all-disabled", "All duplicate detection rules disabled", position=10_000),),
        panel=Panel(("migration/_duplicate_rule.html",), "migration.wizard.duplicate_rule_panel"),
    ),
    Step(
        8,
        "initialize",
        "Initialize the exported tables",
        "Initialize the tables exported at step 2, as the article's table sections say. How, is our "
        "recommendation: each table's card below carries its route. Re-export the table from Sales "
        "with dual-write's columns and upload it; the job fills them in place from the step-2 export. "
        "Import only the import pack's files, in order, with the Import data wizard; a review copy is "
        "not for import, because the wizard rejects a workbook whose columns were added. Then upload "
        "an export taken after the import to verify it.",
        article_section("Initialization the tables listed in Step 2"),
        tuple(
            ItemSpec(f"init-{key}", f"{name} initialized and imported", IMPORT_TABLE)
            for key, name in TRANSFORM_TABLES
        ),
        panel=Panel(
            # One card per table (its job, import files and verification drawn from the _jobs and
            # _import_pack partials), then the settings every job uses.
            ("migration/_import_route.html", "migration/_init_settings_summary.html"),
            "migration.wizard.jobs_panel",
            "js/uploads.js",
        ),
        fold_done=True,
    ),
    Step(
        9,
        "enable-maps",
        "Enable the table maps",
        "In Finance and Operations, enable the table maps and run their initial synchronization with "
        "Finance and Operations as its source: it brings back processing status, shipping and "
        "billing addresses, sites and warehouses. The article's examples are account, quote, quote "
        "line, order and order line; the contact maps (contacts are initialized at step 8) and the "
        "invoice maps (the article says Invoice flows one way, from Finance and Operations, and needs "
        "only the initial sync) are our addition. The article gives examples, not an order; run "
        "them in the order below, which we recommend. "
        + STEP9_ORDER_WHY
        + " Record the result and the error count of each; then re-enable the duplicate detection "
        "rules (our addition: the article never says to). After each initial sync, upload what "
        "Finance and Operations holds (a data management export of the entity) to see whether "
        "everything arrived, and the sync's errors to see why not (our addition).",
        article_section("Open the Finance and Operations app and enable the table maps"),
        tuple(ItemSpec(f"map-{slug(m)}", m, TABLE_MAP) for m in STEP9_MAPS),
        panel=Panel(
            ("migration/_sync.html",), "migration.wizard.sync_panel", "js/sync.js", after_checklist=True
        ),
        fold_done=True,
        opened_by=8,
        lock_reason="every table initialized and imported (its import verified) or marked not used",
        may_open_early=True,
    ),
)

STEPS_BY_SLUG = {step.slug: step for step in STEPS}
# The steps whose sign-off opens another (2 opens 3, 8 opens 9).
OPENERS = frozenset(step.opened_by for step in STEPS if step.opened_by)
STEPS_BY_NUMBER = {step.number: step for step in STEPS}

# The steps the code acts on by name (uploads, the uninstall gate, rules, jobs).
LAST_SYNC_STEP = STEPS_BY_SLUG["last-sync"].number
EXPORTS_STEP = STEPS_BY_SLUG["exports"].number
UNINSTALL_STEP = STEPS_BY_SLUG["uninstall"].number
CONNECTION_STEP = STEPS_BY_SLUG["connection"].number
DUPLICATES_STEP = STEPS_BY_SLUG["duplicate-detection"].number
INITIALIZE_STEP = STEPS_BY_SLUG["initialize"].number
ENABLE_MAPS_STEP = STEPS_BY_SLUG["enable-maps"].number
