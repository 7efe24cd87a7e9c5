"""Validators shared by models and forms."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from .engine import formula_like_text

company_code = RegexValidator(
    r"^[A-Za-z0-9]{1,4}$", "Use the 1 to 4 letter or digit code of the legal entity, such as USMF."
)


def not_formula_like(value: str) -> None:
    """A setting the jobs write into every row: Excel would run one that starts like a formula."""
    if formula_like_text(value):
        raise ValidationError(
            f"“{value.strip()}” starts like a formula (=, +, -, @ or a tab): Excel would run it in the "
            "review copy. Write the value as Finance and Operations has it, without that first character."
        )
