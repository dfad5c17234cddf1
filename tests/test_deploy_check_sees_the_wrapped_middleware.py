"""`manage.py check --deploy` is honest: Django's security checks see its middleware under the
names the project wraps it in, so they neither report it missing nor skip the checks of its
settings (HSTS, the HTTPS redirect); with production settings the check is clean."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from django.core.checks import run_checks

from tests.conftest import ROOT


def _security_ids() -> set[str]:
    return {message.id for message in run_checks(include_deployment_checks=True, tags=["security"])}


def test_the_wrapped_security_csrf_and_clickjacking_middleware_are_found():
    assert not {"security.W001", "security.W002", "security.W003"} & _security_ids()


def test_missing_hsts_and_https_redirect_are_reported_without_the_https_proxy(settings):
    settings.SECURE_HSTS_SECONDS = 0
    settings.SECURE_SSL_REDIRECT = False
    assert {"security.W004", "security.W008"} <= _security_ids()


def test_a_middleware_really_left_out_is_still_reported(settings):
    settings.MIDDLEWARE = [path for path in settings.MIDDLEWARE if not path.endswith(".SecurityMiddleware")]
    assert "security.W001" in _security_ids()


def test_production_settings_pass_the_deploy_check():
    env = {
        **os.environ,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "help.example.com",
        "BEHIND_HTTPS_PROXY": "true",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
