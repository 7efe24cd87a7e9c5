"""Writes for signing in with Microsoft: the user behind an Entra ID account, and what its app
roles let them do here."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..access import project_managers_group
from ..models import MicrosoftAccount

log = logging.getLogger(__name__)

# The Entra app role that lets a user create migrations (the "Project managers" group).
PROJECT_MANAGER_ROLE = "P2C.ProjectManager"
USERNAME_LENGTH = 150


class SignInRefused(Exception):
    """A sign-in the app turns down; the message is for the person signing in."""


class TenantRefused(SignInRefused):
    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id
        super().__init__(f"Accounts of tenant {tenant_id} may not sign in here.")


@dataclass(frozen=True)
class MicrosoftClaims:
    """What the app reads from a verified ID token."""

    tenant_id: str
    object_id: str
    sign_in_name: str
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    roles: tuple[str, ...] = ()

    @classmethod
    def from_token(cls, claims: Mapping) -> "MicrosoftClaims":
        roles = claims.get("roles") or ()
        return cls(
            tenant_id=str(claims["tid"]).lower(),
            object_id=str(claims["oid"]).lower(),
            sign_in_name=str(claims.get("preferred_username") or claims.get("email") or ""),
            name=str(claims.get("name") or ""),
            given_name=str(claims.get("given_name") or ""),
            family_name=str(claims.get("family_name") or ""),
            email=str(claims.get("email") or ""),
            roles=(roles,) if isinstance(roles, str) else tuple(roles),
        )


def microsoft_user_sign_in(*, claims: MicrosoftClaims, allowed_tenants: list[str]) -> AbstractUser:
    """The user of this Entra account: found by tenant and object id (never by name or e-mail),
    made on the first sign-in with no password; their name, e-mail and project-manager right
    follow the token at every sign-in."""
    if claims.tenant_id not in allowed_tenants:
        raise TenantRefused(claims.tenant_id)
    with transaction.atomic():
        account = _account_find(claims) or _account_create(claims)
        user = account.user
        if not user.is_active:
            raise SignInRefused("This account is disabled here: ask an administrator to enable it.")
        account.sign_in_name = claims.sign_in_name
        account.last_signed_in_at = timezone.now()
        account.save(update_fields=["sign_in_name", "last_signed_in_at"])
        _profile_update(user, claims)
        _project_manager_sync(user, claims)
    return user


def _account_find(claims: MicrosoftClaims) -> MicrosoftAccount | None:
    return (
        MicrosoftAccount.objects.select_related("user")
        .select_for_update()
        .filter(tenant_id=claims.tenant_id, object_id=claims.object_id)
        .first()
    )


def _account_create(claims: MicrosoftClaims) -> MicrosoftAccount:
    try:
        with transaction.atomic():
            user = get_user_model()(username=_free_username(claims))
            user.set_unusable_password()  # signs in through Microsoft only
            user.save()
            account = MicrosoftAccount.objects.create(
                user=user,
                tenant_id=claims.tenant_id,
                object_id=claims.object_id,
                sign_in_name=claims.sign_in_name,
            )
    except IntegrityError:
        # The same person's first sign-in in another tab won the race: theirs is the account.
        if account := _account_find(claims):
            return account
        raise
    log.info(
        "Created user %s for Microsoft account %s of tenant %s",
        user.username,
        claims.object_id,
        claims.tenant_id,
    )
    return account


def _free_username(claims: MicrosoftClaims) -> str:
    """The sign-in name, unless a local account already has it: then made unique with the object id.
    Never an existing user: two people with one name stay two users."""
    base = (claims.sign_in_name or claims.object_id)[:USERNAME_LENGTH]
    suffixed = f"{base[: USERNAME_LENGTH - 9]}-{claims.object_id[:8]}"
    users = get_user_model().objects
    for candidate in (base, suffixed, f"microsoft-{claims.object_id}"):
        if not users.filter(username=candidate).exists():
            return candidate
    raise SignInRefused("No user name is free for this account: ask an administrator.")


def _profile_update(user: AbstractUser, claims: MicrosoftClaims) -> None:
    if claims.given_name or claims.family_name:
        user.first_name, user.last_name = claims.given_name, claims.family_name
    else:
        user.first_name, user.last_name = claims.name, ""
    user.first_name, user.last_name = user.first_name[:150], user.last_name[:150]
    user.email = claims.email[:254]
    user.save(update_fields=["first_name", "last_name", "email"])


def _project_manager_sync(user: AbstractUser, claims: MicrosoftClaims) -> None:
    """The app role decides, at every sign-in: removed in Entra, removed here at the next one."""
    group = project_managers_group()
    is_member = user.groups.filter(id=group.id).exists()
    if PROJECT_MANAGER_ROLE in claims.roles and not is_member:
        user.groups.add(group)
        log.info("%s is a project manager (app role %s)", user.username, PROJECT_MANAGER_ROLE)
    elif PROJECT_MANAGER_ROLE not in claims.roles and is_member:
        user.groups.remove(group)
        log.info("%s is no longer a project manager (no app role %s)", user.username, PROJECT_MANAGER_ROLE)
