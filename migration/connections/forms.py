from django import forms

from ..models import ConnectionKind


class ConnectionForm(forms.Form):
    kind = forms.ChoiceField(choices=ConnectionKind.choices, widget=forms.HiddenInput)
    url = forms.URLField(
        label="Environment URL",
        assume_scheme="https",
        help_text="e.g. https://contoso.crm.dynamics.com or https://contoso.operations.dynamics.com",
    )
    tenant_id = forms.CharField(label="Tenant id", max_length=36)
    client_id = forms.CharField(label="Client id (application id)", max_length=36)
    client_secret = forms.CharField(
        label="Client secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted; never shown again. Enter it again to replace it.",
    )
