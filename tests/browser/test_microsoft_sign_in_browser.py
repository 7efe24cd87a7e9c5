"""Sign in with Microsoft, the whole way, in Chromium against a real OpenID provider over TLS.

node-oidc-provider plays Entra ID (tests/entra.py): its own sign-in page, ID tokens with tid, oid
and roles, signed with its key; the app checks them with Authlib against the provider's published
keys, as it would Microsoft's.
"""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from migration.access import PROJECT_MANAGERS
from migration.models import MicrosoftAccount
from tests.browser.conftest import CHROMIUM_ARGS, chromium_path
from tests.entra import OTHER_TENANT, PROJECT_MANAGER, TENANT, EntraProvider, TestCA, account

pytestmark = pytest.mark.browser

ANA = account("ana", roles=(PROJECT_MANAGER,))
EVE = account("eve", tenant=OTHER_TENANT, roles=(PROJECT_MANAGER,))
# Every address but this machine's is refused: the provider's own pages name a web font.
NOT_LOOPBACK = re.compile(r"^https?://(?!127\.0\.0\.1[:/]|localhost[:/])")


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("entra-ca"))


@pytest.fixture(scope="session")
def entra_provider(tmp_path_factory, test_ca, live_server):
    provider = EntraProvider(tmp_path_factory.mktemp("entra"), test_ca, live_server.url)
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def browser(playwright, test_ca):
    """Chromium trusting the provider's certificate key, and nothing else it would not trust."""
    spki = f"--ignore-certificate-errors-spki-list={test_ca.server_spki}"
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=[*CHROMIUM_ARGS, spki])
    yield browser
    browser.close()


@pytest.fixture
def entra(entra_provider, test_ca, settings, monkeypatch) -> EntraProvider:
    """The app set up for the provider (P2C_OIDC_*), trusting the test CA as it would a company's."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(test_ca.ca_file))
    settings.P2C_OIDC = entra_provider.app_settings()
    entra_provider.state(accounts={"ana": ANA, "eve": EVE})
    return entra_provider


@pytest.fixture
def page(page: Page, live_server):
    """Fails a test that sees our pages break the Content-Security-Policy."""
    page.context.route(NOT_LOOPBACK, lambda route: route.abort())
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text and page.url.startswith(live_server.url)
            else None
        ),
    )
    yield page
    assert not violations, "\n".join(violations)


def assert_accessible(page: Page) -> None:
    results = Axe().run(
        page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}}
    )
    assert not [violation["id"] for violation in results.response["violations"]], page.url


def sign_in_with_microsoft(page: Page, app_url: str, login: str, next_path: str = "/") -> None:
    page.goto(f"{app_url}/accounts/login/?next={next_path}")
    page.get_by_role("link", name="Sign in with Microsoft").click()
    page.get_by_placeholder("Enter any login").fill(login)
    page.get_by_placeholder("and password").fill("any password")
    page.get_by_role("button", name="Sign-in").click()


def users():
    return get_user_model().objects


def test_it_creates_the_user_at_the_first_sign_in_and_maps_the_project_manager_role(
    page: Page, live_server, entra
):
    sign_in_with_microsoft(page, live_server.url, "ana", next_path="/migrations/new/")

    expect(page.get_by_role("heading", name="New migration")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out (ana@contoso.example)")).to_be_visible()
    expect(page.get_by_role("link", name="Change password")).to_have_count(0)
    user = users().get(microsoft_account__tenant_id=TENANT, microsoft_account__object_id=ANA["oid"])
    assert (user.username, user.get_full_name(), user.email) == (
        "ana@contoso.example",
        "Ana Silva",
        "ana@contoso.example",
    )
    assert not user.has_usable_password()
    assert user.groups.filter(name=PROJECT_MANAGERS).exists()


def test_it_takes_the_permission_away_when_the_role_is_removed_in_entra(page: Page, live_server, entra):
    sign_in_with_microsoft(page, live_server.url, "ana")
    expect(page.get_by_role("link", name="New migration")).to_be_visible()
    page.get_by_role("button", name="Sign out (ana@contoso.example)").click()

    entra.state(accounts={"ana": ANA | {"roles": []}})  # an administrator removes the app role
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Microsoft").click()  # still signed in at Microsoft

    expect(page.get_by_role("button", name="Sign out (ana@contoso.example)")).to_be_visible()
    expect(page.get_by_role("link", name="New migration")).to_have_count(0)
    assert page.goto(f"{live_server.url}/migrations/new/").status == 403
    assert users().filter(microsoft_account__object_id=ANA["oid"]).count() == 1  # the same user again


def test_it_refuses_an_account_of_another_tenant(page: Page, live_server, entra):
    sign_in_with_microsoft(page, live_server.url, "eve")

    expect(page.get_by_role("heading", name="This Microsoft account cannot sign in here")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(OTHER_TENANT)
    assert_accessible(page)
    assert not MicrosoftAccount.objects.exists()
    assert page.goto(f"{live_server.url}/").url.startswith(f"{live_server.url}/accounts/login/")


@pytest.mark.parametrize(
    ("id_token", "reason"),
    [
        ("expired", "Microsoft's answer has expired"),
        ("tampered", "Microsoft's answer could not be verified"),
    ],
)
def test_it_refuses_an_id_token_that_fails_verification(page: Page, live_server, entra, id_token, reason):
    entra.state(accounts={"ana": ANA | {"roles": []}}, id_token=id_token)  # tampered: roles added
    sign_in_with_microsoft(page, live_server.url, "ana")

    expect(page.get_by_role("heading", name="Sign-in with Microsoft refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(reason)
    assert_accessible(page)
    assert not users().exists()
    assert page.goto(f"{live_server.url}/").url.startswith(f"{live_server.url}/accounts/login/")


def test_it_signs_out_and_offers_microsofts_sign_out(page: Page, live_server, entra):
    sign_in_with_microsoft(page, live_server.url, "ana")
    page.get_by_role("button", name="Sign out (ana@contoso.example)").click()

    expect(page.get_by_role("heading", name="You are signed out of P2C Wizard")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Sign out of Microsoft too").click()
    page.get_by_role("button", name="Yes, sign me out").click()

    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Microsoft").click()
    expect(page.get_by_placeholder("Enter any login")).to_be_visible()  # Microsoft asks again


def test_it_goes_back_only_to_a_page_of_its_own_after_signing_in(page: Page, live_server, entra):
    sign_in_with_microsoft(page, live_server.url, "ana", next_path="https://elsewhere.example/")

    expect(page.get_by_role("heading", name="My migrations")).to_be_visible()
    assert page.url == f"{live_server.url}/"


def test_it_keeps_the_local_sign_in_beside_microsofts(page: Page, live_server, entra, make_user, sign_in):
    page.goto(f"{live_server.url}/accounts/login/")
    assert_accessible(page)
    sign_in(make_user("admin"))  # the administrator `make run` created

    page.get_by_role("button", name="Sign out (admin)").click()
    expect(page.get_by_role("link", name="Sign in with Microsoft")).to_be_visible()
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
