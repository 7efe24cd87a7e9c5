"""Small filters for tables of stored result rows (lists of dicts) and for the pack's pictures."""

from django import template

register = template.Library()


@register.filter
def columns_of(rows: list[dict], names: str) -> list[str]:
    """The columns to show: the names given, or every key of the first row."""
    if names:
        return names.split()
    return list(rows[0]) if rows else []


@register.filter
def cell(row: dict, column: str):
    return row.get(column)
