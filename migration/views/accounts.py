"""Signing in with Microsoft (OpenID Connect, authorization code with PKCE) and signing out."""

import logging

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from joserfc.errors import ExpiredTokenError, JoseError

from .. import microsoft
from ..services.accounts import MicrosoftClaims, SignInRefused, TenantRefused, microsoft_user_sign_in

log = logging.getLogger(__name__)

SIGNED_IN_WITH = "p2c_signed_in_with"  # session key: "microsoft" when signed in that way
NEXT = "p2c_microsoft_next"  # session key: where to go once signed in
# Signed-in users are loaded through Django's own backend (it refuses inactive users).
USER_BACKEND = "django.contrib.auth.backends.ModelBackend"


class SignInView(LoginView):
    """The login page: the local sign-in, and "Sign in with Microsoft" when it is set up."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        return context | {
            "microsoft_sign_in": microsoft.enabled(),
            "password_reset_enabled": settings.PASSWORD_RESET_ENABLED,
        }


@require_GET
def microsoft_sign_in(request: HttpRequest) -> HttpResponse:
    """Off to Microsoft's sign-in page; Authlib keeps state, nonce and PKCE verifier in the session."""
    _require_enabled()
    request.session[NEXT] = _safe_next(request, request.GET.get("next", ""))
    callback = request.build_absolute_uri(reverse("microsoft_callback"))
    try:
        return microsoft.client().authorize_redirect(request, callback)
    except requests.RequestException as error:
        return _unreachable(request, error)


@require_GET
def microsoft_callback(request: HttpRequest) -> HttpResponse:
    _require_enabled()
    try:
        user = _user_from_callback(request)
    except TenantRefused as error:
        log.warning("Microsoft sign-in refused: tenant %s is not allowed", error.tenant_id)
        return render(
            request, "registration/microsoft_tenant_refused.html", {"tenant_id": error.tenant_id}, status=403
        )
    except SignInRefused as error:
        return _refused(request, str(error), status=403)
    except requests.RequestException as error:
        return _unreachable(request, error)
    except (AuthlibBaseError, JoseError) as error:
        log.warning("Microsoft sign-in refused: %s", _describe(error))
        return _refused(request, _reason(error), status=400)
    next_url = request.session.pop(NEXT, "")
    login(request, user, backend=USER_BACKEND)
    request.session[SIGNED_IN_WITH] = "microsoft"
    return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))


def _user_from_callback(request: HttpRequest):
    oauth = microsoft.client()
    token = oauth.authorize_access_token(request, claims_options=microsoft.claims_options(oauth))
    if "userinfo" not in token:
        raise SignInRefused("Microsoft's answer held no ID token: nobody was signed in. Try again.")
    claims = MicrosoftClaims.from_token(token["userinfo"])
    return microsoft_user_sign_in(claims=claims, allowed_tenants=settings.P2C_OIDC["allowed_tenants"])


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """Ends the app's session. Whoever signed in with Microsoft is offered Microsoft's sign-out
    too: their Microsoft session on this browser would otherwise sign them straight in again."""
    with_microsoft = request.session.get(SIGNED_IN_WITH) == "microsoft"
    logout(request)
    if not (with_microsoft and microsoft.enabled()):
        return redirect(settings.LOGOUT_REDIRECT_URL)
    try:
        url = microsoft.sign_out_url(post_logout_redirect_uri=request.build_absolute_uri(reverse("login")))
    except requests.RequestException:
        url = ""
    return render(request, "registration/signed_out.html", {"microsoft_sign_out_url": url})


def _require_enabled() -> None:
    if not microsoft.enabled():
        raise Http404("Sign in with Microsoft is not set up here.")


def _safe_next(request: HttpRequest, next_url: str) -> str:
    allowed = url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return next_url if allowed else ""


def _reason(error: Exception) -> str:
    """What went wrong, in the words of the person signing in."""
    if isinstance(error, MismatchingStateError):
        return "This sign-in was started in another tab or has already been used. Sign in again."
    if isinstance(error, ExpiredTokenError):
        return (
            "Microsoft's answer has expired. Sign in again; if it happens again, the server's clock "
            "may be wrong: tell your administrator."
        )
    if isinstance(error, JoseError):
        return (
            "Microsoft's answer could not be verified (its signature or contents are not valid), so "
            "nobody was signed in. Sign in again; if it happens again, tell your administrator."
        )
    if getattr(error, "error", "") == "access_denied":
        return "The sign-in was cancelled at Microsoft. Sign in again when you are ready."
    return (
        "Microsoft did not complete the sign-in. Sign in again; if it happens again, tell your administrator."
    )


def _describe(error: Exception) -> str:
    """For the log: the error's kind and text (never a token)."""
    return f"{type(error).__name__}: {error}"


def _refused(request: HttpRequest, reason: str, *, status: int) -> HttpResponse:
    return render(request, "registration/microsoft_refused.html", {"reason": reason}, status=status)


def _unreachable(request: HttpRequest, error: requests.RequestException) -> HttpResponse:
    log.error("Microsoft sign-in: the provider could not be reached: %s", _describe(error))
    reason = (
        "Microsoft's sign-in service could not be reached. Try again in a moment, "
        "or sign in with your user name and password."
    )
    return _refused(request, reason, status=502)
