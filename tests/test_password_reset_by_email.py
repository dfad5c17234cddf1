""" "Forgot your password?": a one-time link mailed through a real SMTP server (aiosmtpd on
127.0.0.1, spoken to by Django's own SMTP backend), and what happens without one, with a bad
address, with the mail server down and with too many requests."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)

OLD, NEW = "old-pw-5f1c9a77", "new-pw-0b7e42d1"


class Inbox:
    """aiosmtpd handler: keeps every message the server accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def mail(settings, smtp_server):
    inbox, port = smtp_server
    inbox.messages.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # the test runner's is locmem
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.PASSWORD_RESET_ENABLED = True
    settings.DEFAULT_FROM_EMAIL = "help@larkspur.example"
    return inbox


@pytest.fixture
def customer():
    return User.objects.create_user("ann", email="ann@example.com", password=OLD)


def _ask_for_a_link(client: Client, address: str):
    return client.post("/accounts/password-reset/", {"email": address})


def _link(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"http://testserver(/accounts/reset/\S+/)", body).group(1)


def _can_sign_in(password: str) -> bool:
    response = Client().post("/accounts/login/", {"username": "ann", "password": password})
    return response.status_code == 302


def test_a_customer_resets_a_forgotten_password_with_the_emailed_link(mail, customer):
    client = Client()
    assert "Forgot your password?" in client.get("/accounts/login/").content.decode()
    response = _ask_for_a_link(client, "ann@example.com")
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    sent = client.get(response["Location"]).content.decode()
    assert "Check your inbox" in sent and "for 1 hour" in sent

    assert len(mail.messages) == 1
    message = mail.messages[0]
    assert message["To"] == "ann@example.com" and message["From"] == "help@larkspur.example"
    assert message["Subject"] == "Reset your password on testserver"
    link = _link(message)

    # Django swaps the token for a session marker, then shows the form.
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    set_password_url = form_page.redirect_chain[-1][0]
    mismatch = client.post(set_password_url, {"new_password1": NEW, "new_password2": NEW + "x"})
    assert mismatch.status_code == 400 and "two password fields" in mismatch.content.decode()
    done = client.post(set_password_url, {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    assert "Password changed" in client.get(done["Location"]).content.decode()

    assert _can_sign_in(NEW) and not _can_sign_in(OLD)
    again = Client().get(link, follow=True).content.decode()
    assert "This link no longer works" in again, "a link works once"


def test_an_unknown_address_gets_the_same_page_and_no_email(mail, customer):
    response = _ask_for_a_link(Client(), "nobody@example.com")
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert mail.messages == []


def test_a_malformed_address_is_refused_with_400_naming_it(mail, customer):
    response = _ask_for_a_link(Client(), "not an address")
    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()
    assert mail.messages == []


def test_a_forged_link_is_refused(mail, customer):
    page = Client().get("/accounts/reset/MQ/forged-token/", follow=True).content.decode()
    assert "This link no longer works" in page
    assert _can_sign_in(OLD)


def test_a_mail_server_that_is_down_costs_the_customer_no_error_page(mail, customer, settings, caplog):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = closed.getsockname()[1]
    response = _ask_for_a_link(Client(), "ann@example.com")
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert "Failed to send password reset email" in caplog.text


def test_reset_emails_are_limited_per_ip(mail, customer, settings):
    settings.RATE_LIMIT_PASSWORD_RESETS = "2/hour"
    client = Client()
    assert [_ask_for_a_link(client, "ann@example.com").status_code for _ in range(2)] == [302, 302]
    refused = _ask_for_a_link(client, "ann@example.com")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert len(mail.messages) == 2, "the refused request sent nothing"


def test_without_a_mail_server_reset_is_off_and_says_whom_to_ask(settings, customer):
    settings.PASSWORD_RESET_ENABLED = False
    client = Client()
    assert "Forgot your password?" not in client.get("/accounts/login/").content.decode()
    for path in ("/accounts/password-reset/", "/accounts/reset/MQ/some-token/"):
        response = client.get(path)
        assert response.status_code == 404
        assert "contact support" in response.content.decode()
