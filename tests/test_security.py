"""Sign-in lockout, mail-only password reset, the HTTPS switch and private files."""

import importlib
import json
import os
import stat
import subprocess
import sys

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import clear_url_caches, reverse

from .helpers import PASSWORD, deploy_check, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="lena", password=PASSWORD)


def test_it_locks_out_a_user_and_address_after_five_failures_even_with_the_right_password(client, user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert "didn't match" in sign_in(client, "lena", "wrong").text
    assert sign_in(client, "lena", "wrong").status_code == 429  # the fifth locks
    response = sign_in(client, "lena", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text
    assert "15 minutes" in response.text
    assert "_auth_user_id" not in client.session


def test_it_locks_out_the_admin_login_too(client, django_user_model):
    django_user_model.objects.create_superuser(username="root", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "root", "wrong", url="/admin/login/")
    assert sign_in(client, "root", PASSWORD, url="/admin/login/").status_code == 429


def test_it_keeps_other_users_signing_in_from_the_same_address(client, user, django_user_model):
    django_user_model.objects.create_user(username="omar", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "lena", "wrong")
    assert sign_in(client, "omar", PASSWORD).status_code == 302


def test_it_lets_an_administrator_unlock_a_locked_out_user(client, user, django_user_model):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "lena", "wrong")
    admin_user = django_user_model.objects.create_superuser(username="root", password=PASSWORD)
    admin_client = client_class_for(client)
    admin_client.force_login(admin_user)
    attempts = AccessAttempt.objects.filter(username="lena")
    response = admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "unlock_sign_ins", "_selected_action": [a.pk for a in attempts]},
        follow=True,
    )
    assert "Unlocked 1 user name and address pair(s)." in response.text
    assert sign_in(client, "lena", PASSWORD).status_code == 302


def client_class_for(client):
    return type(client)()


def test_it_offers_no_password_reset_without_mail(client):
    assert not settings.PASSWORD_RESET_ENABLED
    assert client.get("/accounts/password_reset/").status_code == 404
    assert "Forgot your password?" not in client.get("/accounts/login/").text


def test_it_offers_password_reset_when_mail_is_configured(client, settings):
    settings.PASSWORD_RESET_ENABLED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    import p2cwizard.urls

    try:
        importlib.reload(p2cwizard.urls)
        clear_url_caches()
        assert "Forgot your password?" in client.get("/accounts/login/").text
        assert client.get("/accounts/password_reset/").status_code == 200
    finally:
        settings.PASSWORD_RESET_ENABLED = False
        importlib.reload(p2cwizard.urls)
        clear_url_caches()


def test_it_passes_the_deploy_check_with_the_https_switch(tmp_path):
    result = deploy_check(tmp_path, P2C_HTTPS="true")
    assert result.returncode == 0, result.stderr


def test_it_fails_the_deploy_check_without_the_https_switch(tmp_path):
    result = deploy_check(tmp_path)
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT" in result.stderr


def test_it_stores_uploads_readable_by_their_owner_only(media_root):
    name = default_storage.save("migrations/1/exports/order.csv", ContentFile(b"a,b\n"))
    path = default_storage.path(name)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_it_makes_the_var_folder_private(tmp_path):
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=settings.BASE_DIR, env=env | {"P2C_VAR_DIR": str(var)}, check=True, timeout=120,
    )  # fmt: skip
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    for path in (var / "db.sqlite3", var / "secret_key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in (var / "media", var / "celery" / "queue"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


PRINT_ADDRESS_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({k: getattr(settings, k) for k in dir(settings) if "IPWARE" in k}))
"""


def address_settings(tmp_path, **env: str) -> dict:
    """The client-address settings as the app computes them from its environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("P2C_")}
    clean |= {"DJANGO_SETTINGS_MODULE": "p2cwizard.settings", "P2C_VAR_DIR": str(tmp_path), **env}
    result = subprocess.run(
        [sys.executable, "-c", PRINT_ADDRESS_SETTINGS],
        cwd=settings.BASE_DIR, env=clean, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture
def behind_proxies(settings, tmp_path):
    """Apply what P2C_HTTPS=true and P2C_TRUSTED_PROXIES make of the client address."""

    def apply(**env: str):
        for name, value in address_settings(tmp_path, P2C_HTTPS="true", **env).items():
            setattr(settings, name, tuple(value) if isinstance(value, list) else value)

    return apply


def sign_in_via(client, password: str, forwarded_for: str, proxy: str = "10.0.0.2"):
    """A sign-in as it reaches the app: from the proxy, with the X-Forwarded-For it passes on."""
    return client.post(
        "/accounts/login/",
        {"username": "lena", "password": password},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_it_locks_the_user_at_the_one_address_a_proxy_sets(client, user, behind_proxies):
    """nginx's `proxy_set_header X-Forwarded-For $remote_addr`: one value, the client's."""
    behind_proxies()  # the default: one proxy
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in_via(client, "wrong", "203.0.113.7")
    assert sign_in_via(client, PASSWORD, "203.0.113.7").status_code == 429
    assert sign_in_via(client_class_for(client), PASSWORD, "198.51.100.9").status_code == 302
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.7"]


def test_it_takes_the_address_a_proxy_appends_not_the_one_a_client_forges(client, user, behind_proxies):
    """nginx's `$proxy_add_x_forwarded_for`: what the client sent, then the address it came from."""
    behind_proxies(P2C_TRUSTED_PROXIES="1")
    for n in range(settings.AXES_FAILURE_LIMIT * 8):
        sign_in_via(client, "wrong", f"192.0.2.{n}, 203.0.113.7")
    assert sign_in_via(client, PASSWORD, "192.0.2.250, 203.0.113.7").status_code == 429
    assert sign_in_via(client, PASSWORD, "203.0.113.8").status_code == 302  # someone else, elsewhere


def test_it_takes_the_address_the_outer_of_two_proxies_added(client, user, behind_proxies):
    behind_proxies(P2C_TRUSTED_PROXIES="2")
    outer = "10.0.0.9"  # the inner proxy appends the outer one's address
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in_via(client, "wrong", f"192.0.2.{n}, 203.0.113.7, {outer}")
    assert sign_in_via(client, PASSWORD, f"192.0.2.99, 203.0.113.7, {outer}").status_code == 429
    assert sign_in_via(client, PASSWORD, f"203.0.113.8, {outer}").status_code == 302
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.7"]
