"""Thin views by area: check access, validate a form, call one service, redirect or render."""
