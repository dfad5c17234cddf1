from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """Settings every page may need: sign-up on or off, where support is, the site's name."""
    return {
        "allow_signup": settings.ALLOW_SIGNUP,
        "password_reset": settings.PASSWORD_RESET_ENABLED,
        "contact_url": settings.SUPPORT_CONTACT_URL,
        "site_name": settings.SITE_NAME,
    }
