"""Form widgets of the checklist drawn in Python: the same HTML as Django's templates, a tenth of the time.

A step's checklist has dozens of rows of four to eight fields each; Django draws every `<input>`
and every `<label>` through two or three small templates (input.html, attrs.html, label.html),
and those were a quarter of a step page's time. `InputsInPython` writes the HTML those templates
write for input widgets (text, date, number, checkbox, hidden...) and labels, escaping alike,
and leaves every other widget (select, textarea) to the templates.
tests/test_form_rendering.py holds it to Django's output, byte for byte, for every checklist row.
"""

from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape

_WIDGETS = "django/forms/widgets/"
# Each of these templates is input.html and nothing else (checkbox.html: `{% include input.html %}`).
INPUT_TEMPLATES = frozenset(
    _WIDGETS + name + ".html"
    for name in ("input", "text", "number", "email", "url", "password", "hidden", "date", "datetime",
                 "time", "checkbox", "search", "tel", "color")
)  # fmt: skip
LABEL_TEMPLATE = "django/forms/label.html"


def _text(value) -> str:
    # `{{ value|stringformat:'s' }}` in an autoescaping template: str(), escaped unless safe.
    return str(conditional_escape(value if hasattr(value, "__html__") else str(value)))


def attrs_html(attrs: dict | None) -> str:
    """attrs.html: ` name="value"`, a bare ` name` for True, nothing for False."""
    out = []
    for name, value in (attrs or {}).items():
        if value is False:
            continue
        out.append(f" {_text(name)}" if value is True else f' {_text(name)}="{_text(value)}"')
    return "".join(out)


def input_html(widget: dict) -> str:
    kind, name, attrs = _text(widget["type"]), _text(widget["name"]), attrs_html(widget["attrs"])
    value = "" if widget["value"] is None else f' value="{_text(widget["value"])}"'
    return f'<input type="{kind}" name="{name}"{value}{attrs}>'


def label_html(context: dict) -> str:
    label = _text(context["label"])
    if not context["use_tag"]:
        return label
    tag = _text(context["tag"])
    return f"<{tag}{attrs_html(context['attrs'])}>{label}</{tag}>"


class InputsInPython(DjangoTemplates):
    def render(self, template_name, context, request=None):
        if template_name in INPUT_TEMPLATES:
            return input_html(context["widget"])
        if template_name == LABEL_TEMPLATE:
            return label_html(context)
        return super().render(template_name, context, request)


INPUTS_IN_PYTHON = InputsInPython()
