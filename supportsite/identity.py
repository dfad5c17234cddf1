"""Who is calling the API, and for whom it may act.

- A staff API token (Authorization: Bearer sst_...) may act for any user_id (or none).
- A non-staff token, or a signed-in session, acts only for its own user.
- An anonymous caller may not name a user_id.
Session callers must pass Django's CSRF check, as any form would.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import DEFAULT_DB_ALIAS
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.utils import check_csrf

from supportsite.models import ApiToken


@dataclass
class Caller:
    user: AbstractBaseUser | None  # the user the call acts for (None: anonymous)
    principal: AbstractBaseUser | None = None  # who is asking: the token's owner or the signed-in user


def bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def resolve_caller(request: HttpRequest, user_id: int | None) -> Caller:
    """Raises HttpError 401/403 when the caller may not act for `user_id`."""
    plain = bearer_token(request)
    if plain is not None:
        token = ApiToken.objects.find(plain)
        if token is None:
            raise HttpError(401, "the API token is not valid (revoked, expired or mistyped)")
        # Bookkeeping sent straight to the primary, past the router: it is not a write the rest of
        # the call reads back, so it must not pin the call's catalogue reads to the primary.
        ApiToken.objects.using(DEFAULT_DB_ALIAS).filter(pk=token.pk).update(last_used_at=timezone.now())
        if user_id is None or user_id == token.user_id:
            return Caller(token.user if user_id is not None else None, token.user)
        if not token.user.is_staff:
            raise HttpError(403, "this token may only act for its own user_id")
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            raise HttpError(404, f"no active user with user_id {user_id}")
        return Caller(user, token.user)

    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        if check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed: send the csrftoken cookie's value in X-CSRFToken")
        if user_id is not None and user_id != user.pk:
            raise HttpError(403, "a signed-in user may only use their own user_id")
        return Caller(user, user)

    if user_id is not None:
        raise HttpError(401, "sign in or send an API token to act for a user_id")
    return Caller(None)
