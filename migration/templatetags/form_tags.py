"""A form refused by validation: one alert at the top of the page linking to each field in error,
which may be thousands of pixels below (a step's checklist)."""

from dataclasses import dataclass

from django import forms, template

register = template.Library()


@dataclass(frozen=True)
class FieldError:
    anchor: str  # the id of the field's input, or of its row for an error of the whole row
    where: str
    message: str


def _form_errors(form: forms.BaseForm, title: str = "") -> list[FieldError]:
    found = []
    prefix = f"{title}: " if title else ""
    row_anchor = f"item-{form.item.key}" if hasattr(form, "item") else ""
    for message in form.non_field_errors():
        found.append(FieldError(row_anchor, title or "The form", message))
    for field in form:
        for message in field.errors:
            found.append(FieldError(field.id_for_label or row_anchor, f"{prefix}{field.label}", message))
    return found


@register.inclusion_tag("_error_summary.html")
def error_summary(form) -> dict:
    """The errors of a bound form or a checklist formset (each row named by its item's title)."""
    if form is None or not form.is_bound:
        return {"errors": []}
    if isinstance(form, forms.BaseFormSet):
        errors = [FieldError("", "The checklist", m) for m in form.non_form_errors()]
        for row in form.forms:
            errors += _form_errors(row, getattr(getattr(row, "item", None), "title", ""))
        return {"errors": errors}
    return {"errors": _form_errors(form)}
