"""Forms only validate; services do the writes."""

import json
from pathlib import Path

from django import forms
from django.conf import settings

from . import engine, filetypes, item_kinds, selectors
from .engine import LANGUAGE_CODES, ORDER_TYPES, RELATIONSHIP_TYPES, TABLES
from .form_rendering import INPUTS_IN_PYTHON
from .item_kinds import DATE_INPUT
from .models import ChecklistItem, InitializationSettings, Migration, Purpose, Role
from .services.settings import SETTING_FIELDS
from .upload_limits import limit_mb, over_limit
from .validators import company_code, not_formula_like

# The tables whose rows take their company from the company rule; lines take their header's.
COMPANY_RULE_TABLES = [key for key, t in TABLES.items() if t.transforms and not t.checked.header]
ITEM_BASED = "Item based"  # the only order type dual-write syncs (msdyn_ordertype 192350000)


class MigrationForm(forms.ModelForm):
    fno_url = forms.URLField(label="Finance and Operations URL", required=False, assume_scheme="https")
    ce_url = forms.URLField(label="Customer engagement URL", required=False, assume_scheme="https")

    class Meta:
        model = Migration
        fields = ["name", "customer", "fno_url", "ce_url", "go_live"]
        widgets = {"go_live": DATE_INPUT}


class MigrationCopyForm(forms.Form):
    name = forms.CharField(label="Name of the new migration", max_length=120)
    purpose = forms.ChoiceField(
        label="The new migration is", choices=Purpose.choices, initial=Purpose.PRODUCTION
    )
    # The new run's environments and date: never the rehearsal's, kept by mistake.
    fno_url = forms.URLField(label="Its Finance and Operations URL", required=False, assume_scheme="https")
    ce_url = forms.URLField(label="Its customer engagement URL", required=False, assume_scheme="https")
    go_live = forms.DateField(label="Its planned go-live", required=False, widget=DATE_INPUT)

    def __init__(self, *args, source=None, **kwargs):
        super().__init__(*args, **kwargs)
        if source is None:
            return
        said = {"fno_url": source.fno_url, "ce_url": source.ce_url, "go_live": source.go_live}
        for name, value in said.items():
            if value:
                self.fields[name].help_text = f"The rehearsal's was {value}: give the new one."


class LegalEntityForm(forms.Form):
    code = forms.CharField(label="Company code", max_length=4, validators=[company_code])
    name = forms.CharField(label="Legal entity name", max_length=120)

    def clean_code(self) -> str:
        return self.cleaned_data["code"].upper()


class BaseLegalEntityFormSet(forms.BaseFormSet):
    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        # Every entity's fields have their own names ("Company code of legal entity 2"), and the
        # ones that must be filled say so (formsets leave the required attribute out).
        form.fields["code"].label = f"Company code of legal entity {i + 1}"
        form.fields["name"].label = f"Name of legal entity {i + 1}"
        if i < self.min_num:
            for field in form.fields.values():
                field.widget.attrs["required"] = True
        return form

    def clean(self) -> None:
        if any(self.errors):
            return
        codes = [
            f.cleaned_data["code"] for f in self.forms if f.cleaned_data and not self._should_delete_form(f)
        ]
        if len(codes) != len(set(codes)):
            raise forms.ValidationError("Each company code can appear only once.")


LegalEntityFormSet = forms.formset_factory(
    LegalEntityForm, formset=BaseLegalEntityFormSet, extra=2, min_num=1, validate_min=True
)


class LegalEntityAddForm(LegalEntityForm):
    def __init__(self, *args, migration: Migration, **kwargs):
        super().__init__(*args, **kwargs)
        self.migration = migration

    def clean_code(self) -> str:
        code = super().clean_code()
        if self.migration.legal_entities.filter(code=code).exists():
            raise forms.ValidationError(f"{code} is already a legal entity of this migration.")
        return code


class MemberAddForm(forms.Form):
    username = forms.CharField(label="User name", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.CONSULTANT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.microsoft = settings.P2C_OIDC["enabled"]
        if self.microsoft:
            self.fields["username"].label = "User name or Microsoft sign-in name"
            self.fields["username"].help_text = (
                "People who sign in with Microsoft can be added once they have signed in here once, "
                "by their sign-in name (such as ana@contoso.com)."
            )

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        users = selectors.users_named(name=username)
        if len(users) > 1:
            names = ", ".join(user.username for user in users)
            raise forms.ValidationError(
                f"Several people sign in with Microsoft as “{username}” (from different tenants): "
                f"enter the user name of the one you mean ({names})."
            )
        if not users:
            self.missing_username = username
            raise forms.ValidationError(self._not_found(username))
        return users[0]

    def _not_found(self, username: str) -> str:
        if self.microsoft:
            return (
                f"No one called “{username}” has an account here yet. People who sign in with Microsoft "
                "can be added once they have signed in here once: ask them to sign in with Microsoft, "
                "then add them by their sign-in name. Others need an account an administrator creates."
            )
        return f"No active user is called “{username}”. Ask an administrator to create the account first."


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


# --- checklist rows -------------------------------------------------------------


def _comparable(field: forms.Field, value):
    """A value as the row's snapshot holds it (JSON): what the form shows, whatever its source."""
    if isinstance(field, forms.BooleanField):
        return bool(value)
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.strip() if isinstance(value, str) else value


class ChecklistRowForm(forms.Form):
    # Dozens of rows a page: their inputs and labels drawn in Python, the same HTML (form_rendering.py).
    default_renderer = INPUTS_IN_PYTHON
    blocker = forms.CharField(
        label="Blocked by", max_length=300, required=False, help_text="Leave empty when nothing blocks it."
    )
    due_on = forms.DateField(label="Due", required=False, widget=DATE_INPUT)
    # The row as the page showed it: a save changes only what the user changed since (so a page
    # loaded before an upload ticked the row cannot undo the tick), and a field someone else
    # changed meanwhile is a conflict, not an overwrite.
    loaded = forms.CharField(widget=forms.HiddenInput, required=False)
    # The item the row is about: rows bind to items by id, so an item added or removed since the
    # page was drawn never shifts a row onto another item.
    item_id = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, item, editable: bool = True, manager: bool = False, **kwargs):
        self.item = item
        initial = {
            **item.details,
            "ticked": item.done,
            "blocker": item.blocker,
            "due_on": item.due_on,
            "item_id": item.id,
        }
        super().__init__(*args, initial=initial, **kwargs)
        kind_fields = item_kinds.KINDS[item.kind].fields()
        self.kind_field_names = list(kind_fields)
        self.fields = {**kind_fields, **self.fields}
        self.initial["loaded"] = json.dumps(self.snapshot())
        self.changed_names: set[str] | None = None  # None: every field (a post without a snapshot)
        if not editable:
            for field in self.fields.values():
                field.disabled = True
        if not manager:
            for name in item_kinds.MANAGER_ONLY_FIELDS.get(item.kind, ()):
                self.fields[name].disabled = True

    def _names(self) -> list[str]:
        return [name for name in self.fields if name not in ("loaded", "item_id")]

    def snapshot(self) -> dict:
        """The item's values now, as its fields show them."""
        return {name: _comparable(self.fields[name], self.initial.get(name)) for name in self._names()}

    def clean(self):
        data = super().clean()
        for name, message in item_kinds.KINDS[self.item.kind].errors(data).items():
            self.add_error(name, message)
        self._compare_with_loaded(data)
        return data

    def _compare_with_loaded(self, data: dict) -> None:
        try:
            loaded = json.loads(data.get("loaded") or "")
        except ValueError:
            return
        now = self.snapshot()
        self.changed_names = set()
        conflicts = []
        for name in self._names():
            if name not in data or name not in loaded:
                continue
            mine = _comparable(self.fields[name], data[name])
            if mine == loaded[name]:
                continue  # not changed here: what the database holds stays
            if now[name] not in (loaded[name], mine):
                conflicts.append(name)
            self.changed_names.add(name)
        if conflicts:
            who = self.item.updated_by.username if self.item.updated_by else "someone"
            for name in conflicts:
                shown = (
                    now[name]
                    if not isinstance(now[name], bool)
                    else ("ticked" if now[name] else "not ticked")
                )
                self.add_error(
                    name,
                    f"{who} changed this to “{shown or 'empty'}” since you opened the page. Your value is "
                    "kept in the form: save again to replace theirs, or put theirs back.",
                )
            # Saving again means the user has seen theirs: compare with it next time.
            self.data = self.data.copy()
            self.data[self.add_prefix("loaded")] = json.dumps(now)

    def note(self) -> str:
        return item_kinds.KINDS[self.item.kind].note(self.item.details)

    def kind_fields(self):
        return [self[name] for name in self.kind_field_names if name != "ticked"]

    def row(self) -> dict:
        """What to save: every field, or, when the page sent its snapshot, only those changed."""
        wanted = self.changed_names if self.changed_names is not None else set(self._names())
        details = {}
        for name in self.kind_field_names:
            value = self.cleaned_data.get(name)
            if name != "ticked" and name in wanted:
                details[name] = value.isoformat() if hasattr(value, "isoformat") else value
        row = {"item_id": self.item.id, "details": details}
        if "ticked" in wanted:
            row["ticked"] = bool(self.cleaned_data.get("ticked"))
        if "blocker" in wanted:
            row["blocker"] = self.cleaned_data.get("blocker", "").strip()
        if "due_on" in wanted:
            row["due_on"] = self.cleaned_data.get("due_on")
        return row


class ChecklistFormSet(forms.BaseFormSet):
    """One row per checklist item of a step; the items come from the database."""

    form = ChecklistRowForm
    extra = 0
    min_num = 0
    max_num = 1000
    absolute_max = 1000
    validate_min = validate_max = False
    can_order = can_delete = False
    can_delete_extra = False
    renderer = None

    def __init__(self, *args, items, editable: bool = True, manager: bool = False, initial=None, **kwargs):
        self.items, self.editable, self.manager = list(items), editable, manager
        super().__init__(*args, **kwargs)
        if self.is_bound:
            self.items = self._items_as_posted(self.items)

    def _items_as_posted(self, items: list) -> list:
        """The items in the order the page drew them (its rows name their items' ids). A row
        whose item was removed meanwhile gets a stand-in that saves nothing."""
        by_id = {item.id: item for item in items}
        try:
            count = min(int(self.data.get(f"{self.prefix}-TOTAL_FORMS", "")), self.max_num)
        except ValueError:
            return items
        posted = [self.data.get(f"{self.prefix}-{i}-item_id", "") for i in range(count)]
        if not any(posted):
            return items  # a post without ids: the rows are the items in their order
        gone = ChecklistItem(id=None, kind=item_kinds.TASK, title="(removed)", details={})
        return [by_id.get(int(i), gone) if i.isdigit() else gone for i in posted]

    def initial_form_count(self) -> int:
        return len(self.items)

    def total_form_count(self) -> int:
        return len(self.items)

    def get_form_kwargs(self, index):
        return {"item": self.items[index], "editable": self.editable, "manager": self.manager}

    def rows(self) -> list[dict]:
        return [form.row() for form in self.forms]


# --- other step forms -------------------------------------------------------------


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class EvidenceForm(forms.Form):
    title = forms.CharField(max_length=200)
    url = forms.URLField(label="Link", required=False, assume_scheme="https")
    file = forms.FileField(label="Attachment", required=False)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if not upload:
            return upload
        if over_limit(upload.size):
            raise forms.ValidationError(
                f"The file is larger than {limit_mb()} MB. Attach a smaller file or a link."
            )
        suffix = Path(upload.name).suffix.lower()
        if suffix not in filetypes.SIGNATURES:
            raise forms.ValidationError(
                f"{suffix or 'Files without an extension'} are not accepted. Use one of: "
                + ", ".join(sorted(filetypes.SIGNATURES))
            )
        if not filetypes.matches_suffix(filetypes.read_head(upload), suffix):
            raise forms.ValidationError(
                f"The file's content is not a {suffix} file. Check you picked the right file."
            )
        if suffix == ".xlsx":
            try:
                engine.check_workbook_parts(upload)
            except engine.EngineError as error:
                raise forms.ValidationError(error.message[0].upper() + error.message[1:] + ".") from None
            finally:
                upload.seek(0)
        return upload

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("url") and not data.get("file"):
            raise forms.ValidationError("Give a link or attach a file.")
        return data


class UninstallConfirmForm(forms.Form):
    typed_name = forms.CharField(label="Type the migration's name to confirm", max_length=120)


class DuplicateRuleForm(forms.Form):
    name = forms.CharField(label="Rule name", max_length=150)
    table = forms.CharField(label="Table", max_length=100, help_text="For example Account or Contact.")


class InitSettingsForm(forms.ModelForm):
    language = forms.ChoiceField(choices=[(c, c) for c in LANGUAGE_CODES])
    relationship_type = forms.ChoiceField(
        label="Relationship type", choices=[(c, c) for c in RELATIONSHIP_TYPES]
    )
    order_type = forms.ChoiceField(
        label="Order type",
        choices=[(c, c) for c in ORDER_TYPES],
        help_text="Dual-write syncs only Item based orders and quotes.",
    )
    order_type_confirmed = forms.BooleanField(
        label=f"I understand: with an order type other than {ITEM_BASED}, no order and no quote syncs to "
        "Finance and Operations at step 9",
        required=False,
    )
    company_rule_text = forms.CharField(
        label="Company rule: value = company code, one per line",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: “US Sales = USMF”. Values not listed fall back to the company above.",
    )

    relationship_type_rule_text = forms.CharField(
        label="Relationship type rule: value = relationship type, one per line",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: “Supplier = Vendor”. Values not listed take the relationship type above. "
        "Only Customer accounts sync to Finance and Operations.",
    )

    class Meta:
        model = InitializationSettings
        # Every setting but the rules' maps, which the *_rule_text fields edit as text.
        fields = [f for f in SETTING_FIELDS if not f.endswith(("_rule_map", "_rule_columns"))]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.entities = list(self.instance.migration.legal_entities.all())
        codes = [(e.code, str(e)) for e in self.entities]
        self.fields["company"] = forms.ChoiceField(label="Company", choices=codes)
        self.initial.setdefault("order_type_confirmed", self.instance.order_type != ITEM_BASED)
        mapping = self.instance.company_rule_map or {}
        self.initial["company_rule_text"] = "\n".join(f"{k} = {v}" for k, v in mapping.items())
        kinds = self.instance.relationship_type_rule_map or {}
        self.initial["relationship_type_rule_text"] = "\n".join(f"{k} = {v}" for k, v in kinds.items())
        own_columns = self._company_rule_column_fields()
        self.order_fields(
            ["company", "company_rule_column", "company_rule_text", *own_columns, "customer_group",
             "relationship_type",
             "relationship_type_rule_column", "relationship_type_rule_text", "account_numbers_customized",
             "language", "order_type", "order_type_confirmed"]
        )  # fmt: skip
        s = self.instance
        self.fields["customer_group"].validators.append(not_formula_like)  # written into every row
        for e in self.entities:
            self.fields[f"entity_{e.code}_customer_group"] = forms.CharField(
                label=f"{e.code}: customer group",
                max_length=10,
                required=False,
                validators=[not_formula_like],
                initial=e.customer_group,
                help_text=f"Empty: the migration's ({s.customer_group}).",
            )
            self.fields[f"entity_{e.code}_language"] = forms.ChoiceField(
                label=f"{e.code}: language",
                choices=[("", f"The migration's ({s.language})"), *((c, c) for c in LANGUAGE_CODES)],
                required=False,
                initial=e.language,
            )

    def _company_rule_column_fields(self) -> list[str]:
        """One column per table whose company comes from the rule (lines take their header's)."""
        columns = self.instance.company_rule_columns or {}
        names = []
        for key in COMPANY_RULE_TABLES:
            name = f"company_rule_column_{key}"
            self.fields[name] = forms.CharField(
                label=f"Company rule: column in the {TABLES[key].export_name} export",
                max_length=120,
                required=False,
                initial=columns.get(key, ""),
                help_text="Empty: the column above. An export without its column takes the company "
                "above; the job counts those rows.",
            )
            names.append(name)
        return names

    def clean_relationship_type_rule_text(self) -> dict:
        mapping = {}
        labels = {c.casefold(): c for c in RELATIONSHIP_TYPES}
        for number, line in enumerate(self.cleaned_data["relationship_type_rule_text"].splitlines(), start=1):
            if not line.strip():
                continue
            value, sep, kind = line.rpartition("=")
            if not sep or not value.strip() or kind.strip().casefold() not in labels:
                raise forms.ValidationError(
                    f"Line {number} “{line.strip()}”: write “value = relationship type” with one of "
                    f"{', '.join(RELATIONSHIP_TYPES)}."
                )
            mapping[value.strip()] = labels[kind.strip().casefold()]
        return mapping

    def clean_company_rule_text(self) -> dict:
        mapping = {}
        codes = set(self.instance.migration.legal_entities.values_list("code", flat=True))
        for number, line in enumerate(self.cleaned_data["company_rule_text"].splitlines(), start=1):
            if not line.strip():
                continue
            value, sep, code = line.rpartition("=")
            if not sep or not value.strip() or code.strip().upper() not in codes:
                raise forms.ValidationError(
                    f"Line {number} “{line.strip()}”: write “value = company code” with one of this "
                    f"migration's companies ({', '.join(sorted(codes))})."
                )
            mapping[value.strip()] = code.strip().upper()
        return mapping

    def clean(self):
        data = super().clean()
        if data.get("order_type") not in (None, ITEM_BASED) and not data.get("order_type_confirmed"):
            self.add_error(
                "order_type_confirmed",
                f"Only {ITEM_BASED} orders and quotes sync: with {data['order_type']}, every order and "
                "quote stays out of step 9's initial sync. Choose Item based, or tick to confirm.",
            )
        if data.get("company_rule_text") and not data.get("company_rule_column"):
            self.add_error("company_rule_column", "Name the column the company rule reads.")
        if data.get("relationship_type_rule_text") and not data.get("relationship_type_rule_column"):
            self.add_error(
                "relationship_type_rule_column", "Name the column the relationship type rule reads."
            )
        return data

    def values(self) -> dict:
        values = {f: self.cleaned_data[f] for f in self.Meta.fields}
        values["company_rule_map"] = self.cleaned_data["company_rule_text"]
        values["company_rule_columns"] = {
            key: column
            for key in COMPANY_RULE_TABLES
            if (column := self.cleaned_data[f"company_rule_column_{key}"].strip())
        }
        values["relationship_type_rule_map"] = self.cleaned_data["relationship_type_rule_text"]
        values["entities"] = {
            e.code: {
                "customer_group": self.cleaned_data[f"entity_{e.code}_customer_group"].strip(),
                "language": self.cleaned_data[f"entity_{e.code}_language"],
            }
            for e in self.entities
        }
        return values
