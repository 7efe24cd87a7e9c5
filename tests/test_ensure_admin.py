import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def _run(capsys) -> str:
    call_command("ensure_admin")
    return capsys.readouterr().out


def _credentials(output: str) -> tuple[str, str]:
    user = re.search(r"user name: (\S+)", output).group(1)
    password = re.search(r"password:  (\S+)", output).group(1)
    return user, password


def _signs_in(client, user: str, password: str) -> bool:
    """Through the sign-in page, as a person would (the lockout backend needs the request)."""
    response = client.post("/accounts/login/", {"username": user, "password": password})
    return response.status_code == 302 and "_auth_user_id" in client.session


def test_it_creates_an_administrator_with_a_random_password(capsys, client):
    user, password = _credentials(_run(capsys))
    assert user == "admin"
    assert len(password) >= 20
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert _signs_in(client, user, password)


def test_it_generates_a_different_password_each_time(capsys, django_user_model):
    _, first = _credentials(_run(capsys))
    django_user_model.objects.all().delete()
    _, second = _credentials(_run(capsys))
    assert first != second


def test_it_uses_the_user_name_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("P2C_ADMIN_USER", "operator")
    user, _ = _credentials(_run(capsys))
    assert user == "operator"
    assert get_user_model().objects.filter(username="operator", is_superuser=True).exists()


def test_it_neither_creates_nor_resets_on_a_second_run(capsys, client):
    user, password = _credentials(_run(capsys))
    output = _run(capsys)
    assert "An administrator exists (admin)" in output
    assert "manage.py changepassword admin" in output
    assert "password:" not in output
    assert get_user_model().objects.count() == 1
    assert _signs_in(client, user, password)


def test_it_refuses_to_promote_an_existing_ordinary_user(django_user_model):
    django_user_model.objects.create_user(username="admin", password="x-irrelevant-x")
    with pytest.raises(CommandError, match="not an administrator"):
        call_command("ensure_admin")


def test_its_first_start_message_says_creating_migrations_needs_the_project_managers_group(capsys):
    output = _run(capsys)
    assert "Creating migrations needs the “Project managers” group" in output
    assert "Admin > Users > (the user) > Groups" in output
