"""`manage.py check --deploy --fail-level WARNING` is clean with production settings, and the security
settings read from the environment mean what they say. Each case is a fresh interpreter (settings are read
once per process), all started together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.test_settings import SETUP, development_env, production_env, python, refusal, run

DEPLOY_CHECK = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
REPORT = (
    "import json; print(json.dumps({'proxy': s.SECURE_PROXY_SSL_HEADER, 'hsts': s.SECURE_HSTS_SECONDS, "
    "'subdomains': s.SECURE_HSTS_INCLUDE_SUBDOMAINS, 'preload': s.SECURE_HSTS_PRELOAD, "
    "'two_factor': s.ADMIN_REQUIRE_2FA, 'limit': s.AXES_FAILURE_LIMIT, 'cooloff': s.LOGIN_COOLOFF_MINUTES, "
    "'middleware': s.MIDDLEWARE, 'csp': s.CONTENT_SECURITY_POLICY['DIRECTIVES']}))"
)
CASES = {
    "deploy check": (DEPLOY_CHECK, production_env()),
    "deploy check without HSTS": (DEPLOY_CHECK, production_env(SECURE_HSTS_SECONDS="0")),
    "production": (python(SETUP + REPORT), production_env()),
    "production tuned": (
        python(SETUP + REPORT),
        production_env(
            SECURE_PROXY_SSL_HEADER="X-Scheme",
            LOGIN_FAILURE_LIMIT="10",
            LOGIN_COOLOFF_MINUTES="60",
            ADMIN_REQUIRE_2FA="off",
        ),
    ),
    "production direct": (python(SETUP + REPORT), production_env(SECURE_PROXY_SSL_HEADER="none")),
    "development": (python(SETUP + "print(s.ADMIN_REQUIRE_2FA, s.SECURE_PROXY_SSL_HEADER)"), development_env()),
    "refused:header": (python(SETUP), production_env(SECURE_PROXY_SSL_HEADER="X Forwarded Proto")),
    "refused:limit": (python(SETUP), production_env(LOGIN_FAILURE_LIMIT="0")),
    "refused:2fa": (python(SETUP), production_env(ADMIN_REQUIRE_2FA="sometimes")),
}


@pytest.fixture(scope="module")
def outcomes() -> dict[str, subprocess.CompletedProcess[str]]:
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        running = {name: pool.submit(run, argv, env) for name, (argv, env) in CASES.items()}
        return {name: future.result() for name, future in running.items()}


def _report(outcome: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert outcome.returncode == 0, outcome.stderr
    result: dict[str, object] = json.loads(outcome.stdout)
    return result


def test_the_deploy_check_is_clean_at_warning_level(outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    outcome = outcomes["deploy check"]
    assert outcome.returncode == 0, outcome.stderr
    assert "System check identified no issues" in outcome.stdout


def test_the_deploy_check_fails_on_a_warning(outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    outcome = outcomes["deploy check without HSTS"]
    assert outcome.returncode != 0
    assert "security.W004" in outcome.stderr


def test_production_defaults_are_https_hsts_and_a_second_factor(
    outcomes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    settings = _report(outcomes["production"])
    assert settings["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert (settings["hsts"], settings["subdomains"], settings["preload"]) == (31_536_000, True, True)
    assert settings["two_factor"] is True
    assert (settings["limit"], settings["cooloff"]) == (5, 15)


def test_every_page_gets_the_policy_and_the_lockout(outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    settings = _report(outcomes["production"])
    middleware = settings["middleware"]
    assert isinstance(middleware, list)
    assert "csp.middleware.CSPMiddleware" in middleware
    assert middleware[-1] == "axes.middleware.AxesMiddleware"
    assert settings["csp"]["script-src"] == ["'self'"]  # type: ignore[index]


def test_the_security_settings_can_be_tuned(outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    settings = _report(outcomes["production tuned"])
    assert settings["proxy"] == ["HTTP_X_SCHEME", "https"]
    assert (settings["limit"], settings["cooloff"], settings["two_factor"]) == (10, 60, False)


def test_without_a_proxy_no_header_is_trusted(outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    assert _report(outcomes["production direct"])["proxy"] is None


def test_development_needs_no_second_factor_and_trusts_no_header(
    outcomes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    outcome = outcomes["development"]
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stdout.split() == ["False", "None"]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("refused:header", "SECURE_PROXY_SSL_HEADER='X Forwarded Proto' is not a header name"),
        ("refused:limit", "LOGIN_FAILURE_LIMIT must be a whole number of at least 1"),
        ("refused:2fa", "ADMIN_REQUIRE_2FA='sometimes' is not a boolean"),
    ],
)
def test_it_refuses_a_bad_security_value(
    outcomes: dict[str, subprocess.CompletedProcess[str]], case: str, message: str
) -> None:
    assert message in refusal(outcomes[case])
