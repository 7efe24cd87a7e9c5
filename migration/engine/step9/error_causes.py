"""The causes of dual-write errors that Microsoft's troubleshooting articles document.

Each cause carries the message pattern of the article that documents it (the words the article
quotes, matched without case and across line breaks), why it happens and what to do in our words,
and the link to the article's section. Only documented messages are recognised: a message no
article quotes is `unknown`, never a guess. The first matching cause wins, so the specific ones
(a field named, a solution named) come before the general ones.

The articles (MicrosoftDocs/dynamics-365-unified-operations-public, folder
articles/fin-ops-core/dev-itpro/data-entities/dual-write/), read whole:
- dual-write-troubleshooting-initial-sync.md (2024-05-20)
- initial-sync-guidance.md (the limits; its double-quotes section)
- dual-write-troubleshooting-live-sync.md (2026-01-15)
- dual-write-troubleshooting-dual-write-module.md (running, stopping and creating table maps;
  the solutions' version mismatch)
- dual-write-troubleshooting-finops-upgrades.md (upgrades of finance and operations apps)
- dual-write-troubleshooting-initial-setup.md (setup and linking, 2026-01-15)
- party-gab-troubleshooting.md (party and global address book maps, 2026-01-15)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_DW = "https://learn.microsoft.com/dynamics365/fin-ops-core/dev-itpro/data-entities/dual-write/"


@dataclass(frozen=True)
class Article:
    title: str
    url: str


INITIAL_SYNC = Article(
    "Troubleshoot issues during initial synchronization", _DW + "dual-write-troubleshooting-initial-sync"
)
GUIDANCE = Article("Considerations for initial synchronization", _DW + "initial-sync-guidance")
LIVE_SYNC = Article("Troubleshoot live synchronization issues", _DW + "dual-write-troubleshooting-live-sync")
TABLE_MAPS = Article(
    "Troubleshoot dual-write issues in finance and operations apps (table maps, solutions)",
    _DW + "dual-write-troubleshooting-dual-write-module",
)
UPGRADES = Article(
    "Troubleshoot issues from upgrades of finance and operations apps",
    _DW + "dual-write-troubleshooting-finops-upgrades",
)
SETUP = Article("Troubleshoot issues during initial setup", _DW + "dual-write-troubleshooting-initial-setup")
PARTY_GAB = Article("Party and global address book troubleshooting", _DW + "party-gab-troubleshooting")
ARTICLES = (INITIAL_SYNC, GUIDANCE, LIVE_SYNC, TABLE_MAPS, UPGRADES, SETUP, PARTY_GAB)


@dataclass(frozen=True)
class Cause:
    code: str
    title: str
    patterns: tuple[str, ...]
    why: str
    action: str
    article: Article
    section: str = ""  # the anchor of the article's section

    @property
    def link(self) -> str:
        return self.article.url + (f"#{self.section}" if self.section else "")

    def matches(self, text: str) -> bool:
        return bool(self.patterns) and _compiled(self.patterns).search(text) is not None


@functools.cache
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """A cause's patterns as one expression, compiled once (a million messages may be classified)."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE | re.DOTALL)


_RESOLVE = r"(couldn't|could not|can't|cannot) resolve the guid for the field:?\s*"
_S = r"\s+"  # the articles wrap long messages across lines

CAUSES: tuple[Cause, ...] = (
    # --- initial synchronization ----------------------------------------------------------------
    Cause(
        "circular_reference",
        "Self or circular reference (invoice account, contact person)",
        (
            _RESOLVE + r"(primarycontactid\.msdyn_contactpersonid|msdyn_billingaccount\.accountnumber|"
            r"msdyn_vendorprimarycontactperson\.|msdyn_invoicevendoraccountnumber\.)",
        ),
        "The account's invoice account points at another account (a self-reference) and its primary "
        "contact at a contact (a circular reference): the record they name is not in Dataverse yet.",
        "Remove ContactPersonID and InvoiceAccount from the Customers V3 (accounts) map, turn off change "
        "tracking for Customers V3, run the initial sync, run CDS Contacts V2 (contacts), add the two "
        "fields back, run the initial sync again, then turn change tracking back on.",
        INITIAL_SYNC,
        "error-customer-map",
    ),
    Cause(
        "too_many_lookups",
        "Map with more than 10 lookups",
        (r"attempts to get data from",),
        "The initial sync's query cannot follow more than 10 lookups of one map.",
        "Remove optional lookups until 10 or fewer remain, run the initial sync, repeat with the others, "
        "then add them all back and run the map with Skip initial sync.",
        INITIAL_SYNC,
        "initial-sync-failure-on-maps-with-more-than-10-lookup-fields",
    ),
    Cause(
        "party_not_found",
        "Party number not found in Dataverse",
        (r"party number (couldn't|could not|wasn't|was not) (be )?found",),
        "CDS Parties syncs only parties of type Person and Organization; addresses of other parties "
        "(legal entities, operating units) find no party.",
        "A known issue: sync addresses of persons and organizations only, after CDS Parties (msdyn_parties).",
        INITIAL_SYNC,
        "known-issue-during-initial-sync-of-party-postal-addresses-and-party-electronic-addresses",
    ),
    Cause(
        "decimal_locale",
        "A zero or decimal value not converted (Data management language locale)",
        (r"(can't|cannot) convert the literal '[^']*' to the expected type\s*'edm\.decimal'",),
        "Data management's source data format writes decimals in a locale the import does not read.",
        "In Data management, Source data formats, set Language locale to en-us and run the sync again.",
        INITIAL_SYNC,
        "float-data-type-that-has-a-zero-value-cant-be-synchronized",
    ),
    Cause(
        "export_bad_request",
        "400 Bad Request from the finance and operations export",
        (r"\(400\) bad request\.?\)?,?\s*ax export encountered an error",),
        "The initial sync's export from finance and operations failed: the data import/export service "
        "there is stopped.",
        "Make sure the Microsoft Dynamics 365 Data import export framework service runs on the finance "
        "and operations side (restart it), then run the initial sync again.",
        INITIAL_SYNC,
        "you-cant-complete-initial-synchronization-400-bad-request",
    ),
    Cause(
        "export_forbidden",
        "403 Forbidden from the finance and operations export",
        (r"\(403\) forbidden\.?\)?,?\s*ax export encountered an error",),
        "The dual-write client (DtAppID) is not accepted by finance and operations.",
        "In finance and operations, on the Microsoft Entra applications page, delete the DtAppID client "
        "and add it again.",
        INITIAL_SYNC,
        "initial-synchronization-error-403-forbidden",
    ),
    Cause(
        "lookup_not_found",
        "A lookup not found: the referenced record is not in Dataverse",
        (_RESOLVE + r"\S+\.\s*the lookup (wasn't|was not) found",),
        "The record the field points to (named in the message with its value) does not exist in "
        "Dataverse; the message's URL checks it.",
        "Sync the referenced table first (for this company: customer groups, terms of payment, ...), or "
        "fix the value at the source; then run the initial sync again.",
        INITIAL_SYNC,
        "error-customer-map",
    ),
    Cause(
        "double_quotes",
        "Double quotes in the data",
        (r"malformedlineexception", r"cannot be parsed using the current delimiters"),
        "The initial sync cannot parse a value that holds double quotes.",
        "Find and remove the double quotes in the record's values, then run the initial sync again.",
        GUIDANCE,
        "double-quotes-limitation",
    ),
    Cause(
        "partition_limit",
        "Too many legal entities linked",
        (r"exceeds the maximum partitions allowed",),
        "More legal entities are linked than a map can run with (the setup article: about 250 when "
        "linking; the initial-sync guidance: 40 for an initial sync).",
        "Link fewer legal entities, run the maps, then add the others.",
        SETUP,
        "limit-on-the-number-of-legal-entities-or-companies-that-you-can-link-for-dual-write",
    ),
    # --- live synchronization -------------------------------------------------------------------
    Cause(
        "app_user_roles",
        "Dual-write application users or owning team without the right role",
        (r"0x80072560", r"(isn't|is not) a" + _S + r"member of the organization"),
        "The dual-write application users in Dataverse, or the default owning team, lack the system "
        "administrator role.",
        "Follow the system requirements and prerequisites: give the dual-write application users and "
        "the default owning team the system administrator role (in a cloud-hosted one-box environment, "
        "also configure its application user).",
        LIVE_SYNC,
        "live-synchronization-shows-an-error-when-you-create-a-row",
    ),
    Cause(
        "location_key",
        "Address key: a Location ID that already exists",
        (r"attribute values location id already exists", r"location id key requires"),
        "The Address table's key is the Location ID alone, from before the party and global address "
        "book solutions.",
        "Install the dual-write orchestration package 2.2.2.60 or later, so the Address key is "
        "msdyn_locationid with parentid (Location Key).",
        LIVE_SYNC,
        "error-when-you-add-an-address-for-a-customer-or-contact",
    ),
    Cause(
        "party_record_not_found",
        "Party record not found: the customer exists with another party number",
        (r"party record not found for party type",),
        "Dataverse generated a new party number for a customer that finance and operations already "
        "holds with a different party number.",
        "Find the customer through the party lookup: create it when it does not exist, else create the "
        "record with its existing party.",
        LIVE_SYNC,
        "error-when-you-add-a-customer-in-dataverse",
    ),
    Cause(
        "party_type_change",
        "Party number reused with another type (Dataverse reset or relinked)",
        (r"(can't|cannot) update a party's type from",),
        "Dataverse's party number sequence started again after a reset or a relink, and gave a number "
        "finance and operations holds for a party of the other type.",
        "Change the automatic number sequence of msdyn_partynumber on the msdyn_party table in Dataverse.",
        LIVE_SYNC,
        "error-when-you-create-a-new-customer-vendor-or-contact-in-dataverse",
    ),
    Cause(
        "dataverse_reset",
        "The linked Dataverse environment was reset",
        (
            r"unable to generate payload for entity",
            r"invalid uri: the uri is empty",
            r"failed to process entity \w+ - \(?a connection attempt failed",
        ),
        "The Dataverse environment was reset while dual-write was linked: its configuration points nowhere.",
        "Stop all table maps; delete the dual-write configuration rows of the map in "
        "DualWriteProjectConfigurationEntity (Excel add-in) and the DualWrite Runtime Configuration "
        "rows in Dataverse; then link and start the maps again.",
        LIVE_SYNC,
        "fix-synchronization-problems-in-an-environment-that-has-a-recently-changed-dataverse-environment",
    ),
    Cause(
        "database_copy",
        "Configuration copied with a database (full database copy)",
        (r"secureconfig organization .{0,40}(doesn't|does not) match actual crm organization",),
        "A database copied from another system brought its dual-write configuration along.",
        "Delete every record of the msdyn_dualwriteruntimeconfig table after restoring the database, "
        "then unlink and relink the environments.",
        LIVE_SYNC,
        "live-synchronization-error-after-you-do-a-full-database-copy",
    ),
    Cause(
        "contact_from_view_form",
        "Contact created from the View Contact form",
        (
            r"unable to write data to entity msdyn_contactforparties\.\s*"
            r"unable to look up msdyn_parties with values",
        ),
        "A contact created from finance and operations' View Contact form refers to a party and a worker "
        "that dual-write cannot look up.",
        "Create the contact from the Add Contact form instead.",
        PARTY_GAB,
        "error-when-you-try-to-create-a-new-contact-from-the-view-contact-form",
    ),
    Cause(
        "contact_update_int32",
        "Contact from Dataverse not updated (empty number not converted)",
        (r"(can't|cannot) convert the literal '' to the expected type\s*'edm\.int32'",),
        "Updating in finance and operations a contact that originated in Dataverse sends an empty "
        "number that older party solutions cannot convert.",
        "Install the latest Dual-write Party and Global Address Book Solutions (fixed in 3.0.0.26).",
        PARTY_GAB,
        "error-when-you-try-to-update-a-contact",
    ),
    Cause(
        "same_batch_references",
        "Two records of one transaction refer to each other",
        (r"unable to look up \w+ with values \{",),
        "Finance and operations sends records of one transaction in one batch; records that refer to "
        "each other cannot be looked up within it.",
        "Create entity relationships in finance and operations between the two entities, so related "
        "records are handled in the same transaction (a contact: create it from the Add Contact form).",
        LIVE_SYNC,
        "error-when-you-create-a-record-where-multiple-records-are-sent-from-a-finance-and-operations-app-to-dataverse-in-the-same-batch",
    ),
    Cause(
        "reference_data_missing",
        "Prerequisite reference data missing, or a broken map configuration",
        (r"unable to sync with entity",),
        "A record refers to reference data (a customer group, a unit) that is missing on one side, or "
        "the map's configuration rows are broken.",
        "Make sure the reference data exists in both apps; if it does, delete the map's rows in "
        "DualWriteProjectConfigurationEntity with the Excel add-in, publish, and start the map again.",
        LIVE_SYNC,
        "live-synchronization-shows-an-error-when-you-try-to-save-table-data",
    ),
    # --- running, stopping and creating table maps; solutions -----------------------------------
    Cause(
        "solution_version",
        "Dual-write solutions in Dataverse out of date (version mismatch)",
        (r"solution '[^']+' has version mismatch",),
        "A dual-write solution installed in Dataverse is older than the map requires.",
        "Update the dual-write solutions in Dataverse to the latest versions, at least the required "
        "version the message names.",
        TABLE_MAPS,
        "version-mismatch-error-and-upgrading-dual-write-solutions",
    ),
    Cause(
        "lookup_metadata",
        "A map cannot start: dependent maps or columns missing",
        (r"unable to build dual-write lookup metadata",),
        "The map depends on maps that are not running, or misses source or destination columns.",
        "Run the map's dependent maps first; refresh the entity list (finance and operations columns) "
        "or the map's tables (Dataverse columns), then run the map.",
        TABLE_MAPS,
        "unable-to-complete-initial-data-sync",
    ),
    Cause(
        "stop_forbidden",
        "A map cannot stop: the linked Dataverse environment is unavailable",
        (r"error from token exchange:\s*user is not allowed to access connection",),
        "The linked Dataverse environment is not available.",
        "Open a ticket with the Data Integration team, with a network trace, to mark the maps Not running.",
        TABLE_MAPS,
        "error-when-you-stop-the-table-mapping",
    ),
    Cause(
        "token_exchange",
        "Not allowed to link or create maps (403 tokenexchange)",
        (r"403 \(tokenexchange\)",),
        "The user lacks the system administrator role in both apps, or Dataverse was reset without "
        "unlinking dual-write.",
        "Link with a user who is system administrator in both apps; only the user who set up the "
        "connection adds table maps.",
        TABLE_MAPS,
        "error-when-you-link-the-environment-for-dual-write-or-add-a-new-table-mapping",
    ),
    Cause(
        "map_create_unauthorized",
        "Only the user who set up dual-write can create a map (401)",
        (r"401 \(unauthorized\)",),
        "A new table map can be created only by the user who set up the dual-write connection.",
        "Create the map signed in as that user.",
        TABLE_MAPS,
        "error-when-you-try-to-create-a-new-table-map",
    ),
    Cause(
        "sign_in_refused",
        "The dual-write page cannot sign in (third-party cookies)",
        (r"login\.microsoftonline\.com refused to connect",),
        "The browser blocks the sign-in frame of the dual-write page.",
        "Open it in an InPrivate or incognito window, and unblock or clear third-party cookies.",
        TABLE_MAPS,
        "error-when-you-open-the-dual-write-user-interface",
    ),
    # --- upgrades and map validation ------------------------------------------------------------
    Cause(
        "upgrade_isdelete",
        "Database synchronization error after an upgrade (ISDELETE column)",
        (r"invalid column name 'isdelete'",),
        "The DualWriteProjectConfiguration table was not synchronized by the upgrade.",
        "Build a project with DualWriteProjectConfiguration (Synchronize Database on Build), run a full "
        "database synchronization, then rerun the upgrade's database synchronization step.",
        UPGRADES,
        "database-synchronization-errors",
    ),
    Cause(
        "integration_keys",
        "Missing destination field: integration keys ambiguous (party maps)",
        (r"project validation failed\.\s*missing destination field",),
        "Several keys on msdyn_company let dual-write pick the wrong integration key for Customers, "
        "Vendors or Contacts V2 maps.",
        "Set the integration keys by hand (party and global address book setup, step 8), then refresh "
        "the table mappings.",
        PARTY_GAB,
        "error-when-you-try-to-run-customers-vendors-or-contacts-v2-maps",
    ),
    Cause(
        "missing_field",
        "A field missing from the entity's schema",
        (r"missing source field .{0,200} in the schema",),
        "The map names a field that the finance and operations entity no longer exposes (often after an "
        "upgrade).",
        "In Data management, Framework parameters, Refresh entity list; then refresh the map's entity "
        "list; if still missing, regenerate the entity's target mapping and add the field to the map.",
        UPGRADES,
        "missing-entity-fields-issue-on-maps",
    ),
    # --- setup and linking ----------------------------------------------------------------------
    Cause(
        "duplicate_company_name",
        "Two companies with the same name (connection set)",
        (r"saving connection set failed!?\s*an item with the same key has already been added",),
        "Dual-write does not support two legal entities of one name (or blank names) in cdm_company.",
        "Remove the duplicate (and blank-named) records from the cdm_company table in Dataverse.",
        SETUP,
        "connection-set-failed-while-linking-environment",
    ),
    Cause(
        "power_apps_license",
        "No Power Apps license to create the connections (403 while linking)",
        (r"failed to setup dual write environment.{0,200}403 \(forbidden\)",),
        "Linking creates two Power Apps connections on behalf of the user, who has no Power Apps licence.",
        "Assign the user a Power Apps licence, then link again.",
        SETUP,
        "403-forbidden-error-while-connections-are-being-created",
    ),
    Cause(
        "app_consent",
        "App consent missing (404 on the dual-write page)",
        (r"response status code (doesn't|does not) indicate success: 404 \(not found\)",),
        "The tenant administrator has not consented to the dual-write app.",
        "Sign in as tenant administrator and accept the consent URL of app "
        "33976c19-1db5-4c02-810e-c243db79efde.",
        SETUP,
        "error-when-opening-the-dual-write-page-in-finance-and-operations-apps",
    ),
    Cause(
        "not_discoverable",
        "Finance and operations environment not discoverable",
        (r"environment .{0,120}(isn't|is not) discoverable",),
        "The signed-in user is in another tenant than the environment, or a legacy Microsoft-hosted "
        "environment needs an update.",
        "Sign in with a user of the environment's tenant, or update the finance and operations instance.",
        SETUP,
        "finance-and-operations-environment-isnt-discoverable",
    ),
)

UNKNOWN = Cause(
    "unknown",
    "Not documented by Microsoft's troubleshooting articles",
    (),
    "No troubleshooting article quotes this message: it is left for you to read, never guessed.",
    "Read the whole message in the table map's activity log and the FinOps job's execution log; turn "
    "on IsDebugMode for the map to get the verbose error (DualWriteErrorLog).",
    LIVE_SYNC,
    "enable-verbose-logging-of-error-messages",
)
BY_CODE = {c.code: c for c in (*CAUSES, UNKNOWN)}


def plain(text: str) -> str:
    """Curly quotes as typed ones: the articles and the portal write either."""
    return text.replace("\u2019", "'").replace("\u2018", "'")


def classify(message: str) -> Cause:
    """The first cause whose pattern the message matches; UNKNOWN when none does."""
    text = plain(message or "")
    return next((c for c in CAUSES if c.matches(text)), UNKNOWN)
