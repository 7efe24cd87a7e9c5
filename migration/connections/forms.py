from django import forms

from ..dynamics.certificates import CertificateError, app_certificate
from ..models import ConnectionKind, CredentialKind

PEM_LIMIT = 64 * 1024  # a certificate or key in PEM is a few kilobytes


class ConnectionForm(forms.Form):
    kind = forms.ChoiceField(choices=ConnectionKind.choices, widget=forms.HiddenInput)
    url = forms.URLField(
        label="Environment URL",
        assume_scheme="https",
        help_text="e.g. https://contoso.crm.dynamics.com or https://contoso.operations.dynamics.com",
    )
    tenant_id = forms.CharField(label="Tenant id", max_length=36)
    client_id = forms.CharField(label="Client id (application id)", max_length=36)
    credential = forms.ChoiceField(
        label="The app proves who it is with",
        choices=CredentialKind.choices,
        initial=CredentialKind.SECRET,
        required=False,  # a secret, unless a certificate is chosen
        widget=forms.RadioSelect,
    )
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted; never shown again. Enter it again to replace it.",
    )
    certificate = forms.FileField(
        label="Certificate (PEM)",
        required=False,
        help_text="The certificate uploaded to the app registration (Certificates & secrets), as PEM.",
    )
    private_key = forms.FileField(
        label="Its private key (PEM, without a password)",
        required=False,
        help_text="Stored encrypted; never shown again.",
    )

    def clean(self):
        data = super().clean()
        data["credential"] = data.get("credential") or CredentialKind.SECRET
        if data["credential"] == CredentialKind.CERTIFICATE:
            data["app_certificate"] = self._certificate(data)
        elif not data.get("client_secret"):
            self.add_error("client_secret", "Enter the client secret (or choose a certificate).")
        return data

    def _certificate(self, data):
        files = {name: data.get(name) for name in ("certificate", "private_key")}
        for name, upload in files.items():
            if upload is None:
                self.add_error(name, "Upload this file (PEM) for a certificate credential.")
            elif upload.size > PEM_LIMIT:
                self.add_error(
                    name, "This file is too big for a PEM certificate or key: upload the PEM text."
                )
        if self.errors:
            return None
        try:
            return app_certificate(files["certificate"].read(), files["private_key"].read())
        except CertificateError as error:
            field = "private_key" if "private key" in str(error).split(":")[0] else "certificate"
            self.add_error(field, str(error))
            return None

    def connection_details(self) -> dict:
        """What connection_save takes."""
        data = self.cleaned_data
        details = {k: data[k] for k in ("kind", "url", "tenant_id", "client_id")}
        if data["credential"] == CredentialKind.CERTIFICATE:
            return details | {"certificate": data["app_certificate"]}
        return details | {"client_secret": data["client_secret"]}
