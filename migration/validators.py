"""Validators shared by models and forms."""

from django.core.validators import RegexValidator

company_code = RegexValidator(
    r"^[A-Za-z0-9]{1,4}$", "Use the 1 to 4 letter or digit code of the legal entity, such as USMF."
)
