"""Settings come from the environment and refuse bad values at start, with a message that says what to fix.

Each case starts a fresh interpreter (`django.setup()`) with exactly the environment given: settings are
read once per process, and ENV_FILE= keeps a developer's .env file out of it. The interpreters all start
at once, a pool of them per module (the `outcomes` fixture), so their start-up costs overlap.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_FERNET_KEY = "ZGV2LW9ubHktaWQta2V5LW5vdC1mb3ItcHJvZHVjdGk="
SETUP = "import django; django.setup(); from django.conf import settings as s; "


def production_env(**changes: str | None) -> dict[str, str]:
    """A good production environment; a change of None removes the variable."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "DJANGO_SETTINGS_MODULE": "mutualaid.settings",
        "ENV_FILE": "",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "aid.example.com,127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": "https://aid.example.com",
        "DATABASE_URL": "postgres://mutualaid:pw@db.example.com:5432/mutualaid",
        "CONN_MAX_AGE": "60",
        "REDIS_URL": "redis://redis.example.com:6379/0",
        "ID_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ID_HASH_KEY": secrets.token_urlsafe(32),
        "LOG_LEVEL": "INFO",
        "SECURE_COOKIES": "true",
    }
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def development_env(**changes: str | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "DJANGO_SETTINGS_MODULE": "mutualaid.settings",
        "ENV_FILE": "",
        "DEBUG": "true",
    }
    env.update({name: value for name, value in changes.items() if value is not None})
    return env


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The last line of the traceback: the error a person reads first."""
    assert result.returncode != 0, f"started although it should not have:\n{result.stdout}"
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: "), result.stderr
    return last_line


REFUSED = [
    pytest.param({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean", id="DEBUG-is-not-a-boolean"),
    pytest.param({"SECRET_KEY": None}, "SECRET_KEY is required when DEBUG is off", id="SECRET_KEY-missing"),
    pytest.param({"SECRET_KEY": "too-short"}, "SECRET_KEY must be at least 50 characters", id="SECRET_KEY-short"),
    pytest.param(
        {"SECRET_KEY": "dev-only-insecure-secret-key-change-me"},
        "SECRET_KEY is the public development value",
        id="SECRET_KEY-is-the-development-one",
    ),
    pytest.param({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS is required when DEBUG is off", id="ALLOWED_HOSTS-missing"),
    pytest.param(
        {"CSRF_TRUSTED_ORIGINS": "aid.example.com"}, "needs its scheme", id="CSRF_TRUSTED_ORIGINS-without-scheme"
    ),
    pytest.param(
        {"DATABASE_URL": "mysql://u:p@db/mutualaid"}, "DATABASE_URL must be postgres://", id="DATABASE_URL-mysql"
    ),
    pytest.param(
        {"DATABASE_URL": "postgres://u:p@db.example.com:5432/"},
        "DATABASE_URL names no database",
        id="DATABASE_URL-no-db",
    ),
    pytest.param({"CONN_MAX_AGE": "forever"}, "CONN_MAX_AGE='forever' is not a whole number", id="CONN_MAX_AGE-word"),
    pytest.param({"SETTLEMENT_CHUNK_SIZE": "0"}, "SETTLEMENT_CHUNK_SIZE must be", id="SETTLEMENT_CHUNK_SIZE-zero"),
    pytest.param(
        {"REDIS_URL": "amqp://guest:hunter2hunter2@mq:5672//"},
        "REDIS_URL must look like redis://",
        id="REDIS_URL-not-redis",
    ),
    pytest.param({"ID_ENCRYPTION_KEYS": None}, "ID_ENCRYPTION_KEYS is required", id="ID_ENCRYPTION_KEYS-missing"),
    pytest.param(
        {"ID_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},oops"},
        "ID_ENCRYPTION_KEYS: key 2 is not a Fernet key",
        id="ID_ENCRYPTION_KEYS-second-key-not-Fernet",
    ),
    pytest.param(
        {"ID_ENCRYPTION_KEYS": DEV_FERNET_KEY},
        "ID_ENCRYPTION_KEYS is the public development value",
        id="ID_ENCRYPTION_KEYS-is-the-development-one",
    ),
    pytest.param({"ID_HASH_KEY": None}, "ID_HASH_KEY is required when DEBUG is off", id="ID_HASH_KEY-missing"),
    pytest.param({"ID_HASH_KEY": "short"}, "ID_HASH_KEY must be at least 16 characters", id="ID_HASH_KEY-short"),
    pytest.param({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL 'LOUD' is not a logging level", id="LOG_LEVEL-unknown"),
    pytest.param(
        {"CONN_HEALTH_CHECKS": "maybe"}, "CONN_HEALTH_CHECKS='maybe' is not a boolean", id="CONN_HEALTH_CHECKS"
    ),
    pytest.param({"SECURE_COOKIES": "sometimes"}, "SECURE_COOKIES='sometimes' is not a boolean", id="SECURE_COOKIES"),
    pytest.param(
        {"API_THROTTLE_RATE": "1200/fortnight"}, "API_THROTTLE_RATE='1200/fortnight' is not a rate", id="API_THROTTLE"
    ),
]

NEW_KEY, OLD_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
REPORT = (
    "import json; d = s.DATABASES['default']; print(json.dumps({'DEBUG': s.DEBUG, 'ENGINE': d['ENGINE'], "
    "'CONN_MAX_AGE': d['CONN_MAX_AGE'], 'CONN_HEALTH_CHECKS': d['CONN_HEALTH_CHECKS'], "
    "'BROKER': s.CELERY_BROKER_URL, 'EAGER': s.CELERY_TASK_ALWAYS_EAGER, 'KEYS': s.ID_ENCRYPTION_KEYS, "
    "'SECRET_KEY_SET': bool(s.SECRET_KEY), 'REDIS_URL': s.REDIS_URL, "
    "'SESSION_COOKIE_SECURE': s.SESSION_COOKIE_SECURE, 'CSRF_COOKIE_SECURE': s.CSRF_COOKIE_SECURE, "
    "'SECURE_SSL_REDIRECT': s.SECURE_SSL_REDIRECT, 'SECURE_REDIRECT_EXEMPT': s.SECURE_REDIRECT_EXEMPT, "
    "'ALLOWED_HOSTS': s.ALLOWED_HOSTS}))"
)
EMPTY = {name: "" for name in ("SECRET_KEY", "ID_ENCRYPTION_KEYS", "ID_HASH_KEY", "DATABASE_URL", "REDIS_URL")}
# Three booleans read in one process, each spelled another usual way.
BOOLEAN_WORDS = {"DEBUG": "False", "SECURE_COOKIES": "off", "SECURE_SSL_REDIRECT": "YES"}

# Every interpreter this module needs, started together: each pays Django's start-up once, in parallel.
CASES: dict[str, tuple[list[str], dict[str, str]]] = {
    **{
        f"refused:{case.id}": (python(SETUP), production_env(**case.values[0]))  # type: ignore[arg-type]
        for case in REFUSED
    },
    "production": (
        python(SETUP + REPORT),
        production_env(ID_ENCRYPTION_KEYS=f"{NEW_KEY}, {OLD_KEY}", ALLOWED_HOSTS=" aid.example.com, 127.0.0.1,"),
    ),
    "production:health checks": (python(SETUP + REPORT), production_env(CONN_HEALTH_CHECKS="true")),
    "production:check --deploy": (
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        production_env(),
    ),
    "production:boolean words": (
        python(SETUP + "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.SECURE_SSL_REDIRECT)"),
        production_env(**BOOLEAN_WORDS),
    ),
    "development": (python(SETUP + REPORT), development_env()),
    "development:empty values": (python(SETUP + REPORT), development_env(**EMPTY)),
    "development:bad id key": (python(SETUP), development_env(ID_ENCRYPTION_KEYS="not-a-key")),
}


@pytest.fixture(scope="module")
def outcomes() -> dict[str, subprocess.CompletedProcess[str]]:
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        running = {name: pool.submit(run, argv, env) for name, (argv, env) in CASES.items()}
        return {name: future.result() for name, future in running.items()}


def report(outcome: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert outcome.returncode == 0, outcome.stderr
    result: dict[str, Any] = json.loads(outcome.stdout)
    return result


@pytest.mark.parametrize(("changes", "message"), REFUSED)
def test_it_refuses_to_start_in_production_on_a_bad_value(
    changes: dict[str, str | None],
    message: str,
    outcomes: dict[str, subprocess.CompletedProcess[str]],
    request: pytest.FixtureRequest,
) -> None:
    case_id = request.node.callspec.id
    assert message in refusal(outcomes[f"refused:{case_id}"])


def test_it_starts_with_a_good_production_environment(outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    settings = report(outcomes["production"])
    assert settings["DEBUG"] is False
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert settings["BROKER"] == "redis://redis.example.com:6379/0"
    assert settings["EAGER"] is False


def test_it_passes_the_deployment_checks_with_a_good_production_environment(
    outcomes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    outcome = outcomes["production:check --deploy"]
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr


def test_it_turns_on_https_protections_in_production_by_default(
    outcomes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    settings = report(outcomes["production"])
    assert (
        settings["SESSION_COOKIE_SECURE"] is settings["CSRF_COOKIE_SECURE"] is settings["SECURE_SSL_REDIRECT"] is True
    )
    assert settings["SECURE_REDIRECT_EXEMPT"] == ["^healthz$"]


def test_it_reuses_database_connections_without_a_check_unless_asked(
    outcomes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    settings = report(outcomes["production"])
    assert (settings["CONN_MAX_AGE"], settings["CONN_HEALTH_CHECKS"]) == (60, False)
    checked = report(outcomes["production:health checks"])
    assert (checked["CONN_MAX_AGE"], checked["CONN_HEALTH_CHECKS"]) == (60, True)


def test_it_encrypts_with_the_first_of_several_keys_so_keys_can_be_rotated(
    outcomes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    assert report(outcomes["production"])["KEYS"] == [NEW_KEY, OLD_KEY]


def test_it_drops_spaces_and_empty_items_from_a_list(outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    assert report(outcomes["production"])["ALLOWED_HOSTS"] == ["aid.example.com", "127.0.0.1"]


def test_it_never_echoes_a_redis_password_in_its_message(outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    assert "hunter2" not in refusal(outcomes["refused:REDIS_URL-not-redis"])


def test_it_reads_the_usual_boolean_words(outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    outcome = outcomes["production:boolean words"]
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stdout.split() == ["False", "False", "True"]


def test_it_starts_in_development_with_no_configuration_at_all_on_sqlite(
    outcomes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    settings = report(outcomes["development"])
    assert (settings["ENGINE"], settings["EAGER"]) == ("django.db.backends.sqlite3", True)


def test_it_reads_an_empty_value_as_unset_so_a_copied_env_file_works_in_development(
    outcomes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    settings = report(outcomes["development:empty values"])
    assert settings["SECRET_KEY_SET"] is True
    assert len(settings["KEYS"]) == 1
    assert (settings["ENGINE"], settings["REDIS_URL"]) == ("django.db.backends.sqlite3", "")


def test_it_still_checks_an_id_key_that_is_given_in_development(
    outcomes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    assert "is not a Fernet key" in refusal(outcomes["development:bad id key"])


def test_it_reads_the_env_file_but_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / "mutualaid.env"
    env_file.write_text("LOG_LEVEL=WARNING\nREDIS_URL=redis://from-the-file:6379/3\n")
    env = development_env(ENV_FILE=str(env_file), LOG_LEVEL="ERROR")
    outcome = run(python(SETUP + "print(s.LOG_LEVEL, s.REDIS_URL)"), env)
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stdout.split() == ["ERROR", "redis://from-the-file:6379/3"]


def test_every_variable_the_settings_read_is_documented_in_env_example() -> None:
    source = (BASE_DIR / "mutualaid" / "settings.py").read_text()
    readers = r"(?:_text|_list|_strict_bool|_whole_number|_required_in_production|os\.environ\.get)"
    read = set(re.findall(readers + r'\(\s*"([A-Z][A-Z0-9_]*)"', source))
    documented = set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", (BASE_DIR / ".env.example").read_text(), re.MULTILINE))
    assert {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "ID_ENCRYPTION_KEYS"} <= read
    assert read <= documented, f"not in .env.example: {sorted(read - documented)}"


def test_makemigrations_runs_on_a_machine_with_no_environment(tmp_path: Path) -> None:
    """A fresh clone has no .env: comparing models and migrations needs no secret, so it does not stop for one."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "ENV_FILE": "",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }
    result = run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], env)
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


def test_other_commands_still_stop_for_the_production_keys(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "ENV_FILE": "",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }
    result = run([sys.executable, "manage.py", "check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr
