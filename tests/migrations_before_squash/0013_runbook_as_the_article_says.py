"""Existing migrations get the runbook of issue 9: step 1 one row per Data Integrator project (by
Microsoft's template names) and legal entity, step 6's maps saying who names them, step 7's fixed
item, step 9's maps in the recommended order. Old step-1 rows that were never touched are removed;
touched ones stay, with their history. The catalogue is frozen here as it was when written."""

from django.db import migrations

PROJECTS = (
    "Accounts (Sales to Fin and Ops) - Direct",
    "Contacts to Customers (Sales to Fin and Ops) - Direct",
    "Contacts (Sales to Fin and Ops) - Direct",
    "Sales Orders (Sales to Fin and Ops) - Direct",
    "Sales Orders (Fin and Ops to Sales) - Direct",
    "Sales Quotes (Sales to Fin and Ops) - Direct",
    "Sales Invoices (Fin and Ops to Sales) - Direct",
    "Products (Fin and Ops to Sales) - Direct",
)
OLD_PROJECTS = ("sync-accounts", "sync-contacts", "sync-products", "sync-quotes", "sync-orders", "sync-invoices")
ARTICLE = ("Customer groups (msdyn_customergroups)", "Terms of payment (msdyn_paymentterms)",
           "Payment schedule (msdyn_paymentschedules)")  # fmt: skip
STEP9 = (
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


def slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:60]


def forwards(apps, schema_editor):
    Migration = apps.get_model("migration", "Migration")
    Item = apps.get_model("migration", "ChecklistItem")
    for migration in Migration.objects.all():
        items = Item.objects.filter(migration=migration)
        items.filter(step=1, key__in=OLD_PROJECTS, updated_at__isnull=True).delete()
        have = set(items.values_list("key", flat=True))
        entities = list(migration.legal_entities.order_by("id"))
        new = [
            Item(migration=migration, step=1, kind="sync_run", key=f"sync-{slug(p)}-{e.code.lower()}",
                 title=f"{p}, {e.code}", position=100 * i + n)  # fmt: skip
            for i, p in enumerate(PROJECTS)
            for n, e in enumerate(entities, start=1)
            if f"sync-{slug(p)}-{e.code.lower()}" not in have
        ]
        if "dup-all-disabled" not in have:
            new.append(Item(migration=migration, step=7, kind="task", key="dup-all-disabled",
                            title="All duplicate detection rules disabled", position=10_000))  # fmt: skip
        Item.objects.bulk_create(new)
        for item in items.filter(step=6, kind="reference_map"):
            name = item.title.split(": ", 1)[0]
            source = "named in the article" if name in ARTICLE else "our addition: step 9's maps look it up"
            Item.objects.filter(id=item.id).update(title=f"{name}: {source}")
        for position, name in enumerate(STEP9):
            items.filter(step=9, key=f"map-{slug(name)}").update(position=position)


class Migration(migrations.Migration):
    dependencies = [("migration", "0012_choices_of_all_steps")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
