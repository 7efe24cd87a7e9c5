"""Sign in with Microsoft without a browser: its settings, who a token's account is, what its app
role grants, the Members page and the lockout of local accounts beside it.

The flow itself, against a real OpenID provider, is in tests/browser/test_microsoft_sign_in_browser.py.
"""

import logging
import time

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from joserfc import jwk, jwt
from joserfc.errors import ExpiredTokenError, InvalidClaimError, MissingClaimError

from migration import microsoft
from migration.access import PROJECT_MANAGERS
from migration.microsoft import issuer_for
from migration.models import MicrosoftAccount
from migration.services.accounts import (
    MicrosoftClaims,
    SignInRefused,
    TenantRefused,
    microsoft_user_sign_in,
)
from p2cwizard.settings import oidc_from_env
from tests.entra import OTHER_TENANT, PROJECT_MANAGER, TENANT, account
from tests.helpers import PASSWORD, deploy_check, migration_url, sign_in

pytestmark = pytest.mark.django_db

OIDC_ENV = {
    "P2C_OIDC_TENANT_ID": TENANT,
    "P2C_OIDC_CLIENT_ID": "6731de76-14a6-49ae-97bc-6eba6914391e",
    "P2C_OIDC_CLIENT_SECRET": "a-secret",
}
ENABLED = {
    "enabled": True,
    "tenant_id": TENANT,
    "client_id": OIDC_ENV["P2C_OIDC_CLIENT_ID"],
    "client_secret": "a-secret",
    "authority": f"https://login.microsoftonline.com/{TENANT}/v2.0",
    "allowed_tenants": [TENANT],
}


def signs_in(login: str, *, tenant: str = TENANT, roles=(), **changes):
    """`login` signs in (from our tenant unless said otherwise); `changes` alter the token's claims."""
    claims = MicrosoftClaims.from_token(account(login, tenant=tenant, roles=roles) | changes)
    return microsoft_user_sign_in(claims=claims, allowed_tenants=[TENANT, OTHER_TENANT])


@pytest.fixture
def with_microsoft(settings):
    settings.P2C_OIDC = ENABLED


# --- settings -----------------------------------------------------------------------------


@pytest.fixture
def oidc_env(monkeypatch):
    for name in (*OIDC_ENV, "P2C_OIDC_AUTHORITY", "P2C_OIDC_ALLOWED_TENANTS"):
        monkeypatch.delenv(name, raising=False)

    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        return oidc_from_env()

    return set_env


def test_it_is_off_without_its_settings(oidc_env):
    assert oidc_from_env() == {"enabled": False}


def test_it_defaults_to_the_tenants_own_authority_and_only_its_accounts(oidc_env):
    assert oidc_env(**OIDC_ENV) == ENABLED


def test_it_takes_empty_authority_and_tenants_as_unset_as_docker_compose_passes_them(oidc_env):
    assert oidc_env(**OIDC_ENV, P2C_OIDC_AUTHORITY="", P2C_OIDC_ALLOWED_TENANTS="") == ENABLED


def test_it_takes_another_authority_and_more_tenants(oidc_env):
    config = oidc_env(
        **OIDC_ENV,
        P2C_OIDC_AUTHORITY="https://login.microsoftonline.us/organizations/v2.0/",
        P2C_OIDC_ALLOWED_TENANTS=f"{TENANT}, {OTHER_TENANT.upper()}",
    )
    assert config["authority"] == "https://login.microsoftonline.us/organizations/v2.0"
    assert config["allowed_tenants"] == [TENANT, OTHER_TENANT]


def test_it_refuses_half_a_configuration_naming_what_is_missing(oidc_env):
    with pytest.raises(ImproperlyConfigured, match="P2C_OIDC_CLIENT_SECRET not set"):
        oidc_env(P2C_OIDC_TENANT_ID=TENANT, P2C_OIDC_CLIENT_ID="app")


def test_it_refuses_an_authority_without_tls(oidc_env):
    with pytest.raises(ImproperlyConfigured, match="must be an https:// address"):
        oidc_env(**OIDC_ENV, P2C_OIDC_AUTHORITY="http://login.example.com/tenant/v2.0")


def test_it_passes_the_deploy_check_with_microsoft_sign_in_configured(tmp_path):
    result = deploy_check(tmp_path, P2C_HTTPS="true", **OIDC_ENV)
    assert result.returncode == 0, result.stderr


def test_it_checks_a_multi_tenant_authoritys_issuer_against_the_tokens_tenant():
    template = "https://login.microsoftonline.com/{tenantid}/v2.0"
    assert issuer_for(template, {"tid": TENANT}) == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert issuer_for(f"https://login.microsoftonline.com/{TENANT}/v2.0", {"tid": OTHER_TENANT}).endswith(
        f"{TENANT}/v2.0"
    )


# --- what an ID token must say (Authlib's checks with ours, on tokens signed by the test's key) ---

AUTHORITY = "https://login.example.test/organizations/v2.0"


@pytest.fixture
def id_token_checks(settings):
    """Checks a token as the callback does, the provider's metadata and keys given, not fetched."""
    key = jwk.generate_key("RSA", 2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
    settings.P2C_OIDC = ENABLED | {"authority": AUTHORITY}
    oauth = microsoft.client()
    oauth.server_metadata.update(
        issuer="https://login.example.test/{tenantid}/v2.0",
        jwks={"keys": [key.as_dict(private=False)]},
        id_token_signing_alg_values_supported=["RS256"],
        _loaded_at=1,
    )

    def check(**changes):
        now = int(time.time())
        claims = account("ana") | {
            "iss": f"https://login.example.test/{TENANT}/v2.0",
            "aud": ENABLED["client_id"],
            "sub": "pairwise-sub",
            "iat": now,
            "exp": now + 3600,
            "nonce": "n1",
        }
        claims = {k: v for k, v in (claims | changes).items() if v is not None}
        token = {"id_token": jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)}
        return oauth.parse_id_token(token, nonce="n1", claims_options=microsoft.claims_options(oauth))

    return check


def test_it_accepts_an_id_token_from_the_tokens_own_tenant(id_token_checks):
    assert id_token_checks()["oid"] == account("ana")["oid"]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"aud": "another-app"}, InvalidClaimError),
        ({"iss": f"https://login.example.test/{OTHER_TENANT}/v2.0"}, InvalidClaimError),  # not its tid
        ({"iss": "https://evil.example/{tenantid}/v2.0"}, InvalidClaimError),
        ({"tid": None}, MissingClaimError),
        ({"oid": None}, MissingClaimError),
        ({"nonce": "replayed"}, InvalidClaimError),
        ({"exp": int(time.time()) - 600}, ExpiredTokenError),
    ],
)
def test_it_refuses_an_id_token_that_says_the_wrong_thing(id_token_checks, changes, error):
    with pytest.raises(error):
        id_token_checks(**changes)


# --- the login page -------------------------------------------------------------------------


def test_it_shows_local_sign_in_only_when_microsoft_is_not_set_up(client):
    assert "Sign in with Microsoft" not in client.get("/accounts/login/").text
    assert client.get("/accounts/microsoft/").status_code == 404
    assert client.get("/accounts/microsoft/callback/?code=x&state=y").status_code == 404


def test_it_offers_microsoft_beside_the_local_sign_in(client, with_microsoft):
    page = client.get("/accounts/login/?next=/migrations/new/").text
    assert 'href="/accounts/microsoft/?next=/migrations/new/"' in page
    assert 'name="password"' in page


def test_it_refuses_a_callback_it_did_not_start(client, with_microsoft):
    # No sign-in was started in this session: refused before Microsoft is asked anything.
    response = client.get("/accounts/microsoft/callback/?code=stolen&state=forged")
    assert response.status_code == 400
    assert "started in another tab or has already been used" in response.text
    assert "_auth_user_id" not in client.session


# --- who the account is -----------------------------------------------------------------------


def test_it_matches_users_on_tenant_and_object_id_not_on_their_name(django_user_model):
    local = django_user_model.objects.create_user(username="ana@contoso.example", password=PASSWORD)
    user = signs_in("ana")
    assert user != local
    assert user.username.startswith("ana@contoso.example-")
    assert django_user_model.objects.get(id=local.id).check_password(PASSWORD)  # untouched


def test_it_finds_the_same_user_after_a_rename_in_entra():
    first = signs_in("ana")
    again = signs_in("ana", preferred_username="ana.silva@contoso.example", name="Ana Silva-Costa")
    assert again == first
    assert again.get_full_name() == "Ana Silva-Costa"
    assert again.microsoft_account.sign_in_name == "ana.silva@contoso.example"


def test_it_keeps_people_of_two_tenants_apart_whatever_their_names():
    assert signs_in("ana") != signs_in("ana", tenant=OTHER_TENANT)
    assert MicrosoftAccount.objects.count() == 2


def test_it_refuses_another_tenant_and_creates_no_one(django_user_model):
    claims = MicrosoftClaims.from_token(account("eve", tenant=OTHER_TENANT))
    with pytest.raises(TenantRefused):
        microsoft_user_sign_in(claims=claims, allowed_tenants=[TENANT])
    assert not django_user_model.objects.exists()


def test_it_refuses_a_user_an_administrator_disabled():
    user = signs_in("ana")
    user.is_active = False
    user.save()
    with pytest.raises(SignInRefused, match="disabled"):
        signs_in("ana")


def test_it_grants_and_removes_project_manager_with_the_app_role():
    user = signs_in("ana", roles=(PROJECT_MANAGER,))
    assert user.has_perm("migration.add_migration")
    user = signs_in("ana", roles=())
    assert not user.groups.filter(name=PROJECT_MANAGERS).exists()
    assert not user.has_perm("migration.add_migration")


def test_it_reads_no_project_manager_right_from_other_roles():
    user = signs_in("ana", roles=("P2C.Reader", "ProjectManager"))
    assert not user.groups.filter(name=PROJECT_MANAGERS).exists()


# --- the Members page -------------------------------------------------------------------------


def test_it_adds_a_member_by_microsoft_sign_in_name_once_they_signed_in(
    client_for, migration, with_microsoft
):
    ana = signs_in("ana", preferred_username="Ana@Contoso.example")
    response = client_for("manager").post(
        migration_url("members", migration), {"username": "ana@contoso.example", "role": "consultant"}
    )
    assert response.status_code == 302
    assert migration.memberships.filter(user=ana, role="consultant").exists()


def test_it_says_people_must_sign_in_once_before_they_can_be_added(client_for, migration, with_microsoft):
    members = migration_url("members", migration)
    assert "once they have signed in here once" in client_for("manager").get(members).text
    response = client_for("manager").post(members, {"username": "bob@contoso.example", "role": "viewer"})
    assert "ask them to sign in with Microsoft, then add them" in response.text


def test_it_asks_which_one_when_two_tenants_share_a_sign_in_name(client_for, migration, with_microsoft):
    # A user name always means its account; sign-in names are looked up when no user name matches.
    first = signs_in("ana")  # user name ana@contoso.example
    second = signs_in("ana", tenant=OTHER_TENANT)  # ana@contoso.example-<object id>
    for login, tenant in (("ana", TENANT), ("ana", OTHER_TENANT)):
        signs_in(login, tenant=tenant, preferred_username="a.silva@contoso.example")  # both renamed
    members = migration_url("members", migration)

    response = client_for("manager").post(members, {"username": "a.silva@contoso.example", "role": "viewer"})
    assert f"enter the user name of the one you mean ({first.username}, {second.username})" in response.text
    client_for("manager").post(members, {"username": second.username, "role": "viewer"})
    assert migration.memberships.filter(user=second).exists()
    assert not migration.memberships.filter(user=first).exists()


# --- local accounts beside it -------------------------------------------------------------------


def test_it_still_locks_local_accounts_out_with_microsoft_sign_in_on(
    client, django_user_model, with_microsoft
):
    django_user_model.objects.create_user(username="admin", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "admin", "wrong")
    response = sign_in(client, "admin", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_lets_no_password_into_an_account_made_by_microsoft_sign_in(client, with_microsoft):
    user = signs_in("ana")
    assert "didn't match" in sign_in(client, user.username, "").text
    assert "didn't match" in sign_in(client, user.username, "!").text
    assert "_auth_user_id" not in client.session


def test_it_shows_administrators_the_microsoft_account_of_a_user(admin_client):
    user = signs_in("ana")
    page = admin_client.get(f"/admin/auth/user/{user.id}/change/").text
    assert TENANT in page
    assert user.microsoft_account.object_id in page


def test_it_never_logs_the_sign_in_secrets_authlib_prints_when_debugging(caplog):
    with caplog.at_level(logging.DEBUG):  # as with LOG_LEVEL=DEBUG
        logging.getLogger("authlib.integrations.base_client.sync_app").debug("Using code_verifier: 'x'")
    assert "code_verifier" not in caplog.text
