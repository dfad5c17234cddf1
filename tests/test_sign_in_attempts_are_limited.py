"""Wrong passwords are limited per account and per address on the customer and the admin
sign-in (a 429 with Retry-After that says why, before any password is checked); the hold lasts
one short window only; sign-ups are limited per address."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "pw-right-4f9a2c"


@pytest.fixture
def limits(settings):
    settings.RATE_LIMITS_ENABLED = True
    settings.RATE_LIMIT_SIGN_IN_FAILURES_PER_ACCOUNT = "3/min"
    settings.RATE_LIMIT_SIGN_IN_FAILURES_PER_IP = "5/hour"
    # A quick hasher, so that attempts fit in the one-second windows below.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


@pytest.fixture
def ana(limits):
    return User.objects.create_user("ana", password=PASSWORD)


def _sign_in(username: str, password: str, *, ip: str = "203.0.113.7", path: str = "/accounts/login/"):
    return Client().post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_after_too_many_wrong_passwords_for_an_account_even_the_right_one_waits(limits, ana, path):
    for _ in range(3):
        assert _sign_in("ana", "wrong", path=path).status_code == 200  # the form again, with its error
    refused = _sign_in("ana", PASSWORD, path=path)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "too many failed sign-ins for this account" in refused.content.decode()


def test_the_account_limit_counts_wrong_passwords_from_every_address(limits, ana):
    for number in range(3):
        _sign_in("ANA", "wrong", ip=f"198.51.100.{number}")  # usernames count however they are cased
    assert _sign_in("ana", PASSWORD, ip="192.0.2.50").status_code == 429


def test_one_address_guessing_many_accounts_is_limited(limits):
    for number in range(5):
        assert _sign_in(f"user{number}", "wrong").status_code == 200
    refused = _sign_in("user9", "wrong")
    assert refused.status_code == 429
    assert "too many failed sign-ins for your address" in refused.content.decode()
    assert _sign_in("user9", "wrong", ip="203.0.113.8").status_code == 200


def test_the_hold_on_an_account_ends_with_its_window(limits, ana):
    limits.RATE_LIMIT_SIGN_IN_FAILURES_PER_ACCOUNT = "2/sec"
    time.sleep(1 - time.time() % 1)  # start at the beginning of a one-second window
    for _ in range(2):
        _sign_in("ana", "wrong")
    assert _sign_in("ana", PASSWORD).status_code == 429
    time.sleep(1 - time.time() % 1 + 0.05)
    signed_in = _sign_in("ana", PASSWORD)
    assert signed_in.status_code == 302 and signed_in["Location"] == "/dashboard/"


def test_successful_sign_ins_do_not_count(limits, ana):
    for _ in range(5):
        assert _sign_in("ana", PASSWORD).status_code == 302


def test_sign_ups_are_limited_per_address(limits):
    limits.RATE_LIMIT_SIGNUPS = "2/hour"
    for number in range(2):
        form = {"username": f"new{number}", "password1": PASSWORD, "password2": PASSWORD}
        assert Client().post("/accounts/signup/", form, REMOTE_ADDR="203.0.113.9").status_code == 302
    form = {"username": "new3", "password1": PASSWORD, "password2": PASSWORD}
    refused = Client().post("/accounts/signup/", form, REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many sign-ups have come from your address" in refused.content.decode()
    assert not User.objects.filter(username="new3").exists()
    assert Client().post("/accounts/signup/", form, REMOTE_ADDR="203.0.113.10").status_code == 302
