"""docker-compose.yml hands every documented setting to the app, publishes the web port on
loopback unless told otherwise, and has no default database password (issue 11, "deployment")."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.support import REPOSITORY

APP_SERVICES = ("web", "scheduler", "migrate")
# Documented, but not the operator's to pass into a container: compose builds DATABASE_URL
# from POSTGRES_PASSWORD; HOST and PORT are where gunicorn binds inside the container (the
# published address is SIGWISE_BIND and WEB_PORT); SIGWISE_DATA_DIR only serves the embedded
# PostgreSQL, which a container never starts.
NOT_PASSED = {"DATABASE_URL", "HOST", "PORT", "SIGWISE_DATA_DIR"}
DOCUMENTED_ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]+)` \|", re.M)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPOSITORY / "docker-compose.yml").read_text())


def documented_variables() -> set[str]:
    pages = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]
    found = {name for page in pages for name in DOCUMENTED_ROW.findall(page.read_text())}
    return found - {"POSTGRES_PASSWORD", "SIGWISE_BIND", "WEB_PORT"}  # compose's own, checked below


def test_the_configuration_tables_are_found() -> None:
    assert {"TRUSTED_PROXY_COUNT", "REDIS_URL", "LOGIN_FAILURE_LIMIT", "JWT_SIGNING_KEY"} <= documented_variables()
    assert {"API_THROTTLE_ANON", "API_THROTTLE_USER", "TRIGGER_MAX_PER_USER"} <= documented_variables()


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_documented_variable_reaches_the_app_containers(compose: dict, service: str) -> None:
    environment = compose["services"][service]["environment"]

    missing = sorted(documented_variables() - NOT_PASSED - set(environment))
    assert missing == [], f"{service} does not receive {missing}"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_a_passed_through_variable_without_a_value_keeps_the_apps_default(compose: dict, service: str) -> None:
    # ``NAME:`` (null) takes the value from the environment or .env, and leaves the variable
    # unset when it is set in neither; ``NAME: ""`` would hand the app an empty value instead.
    environment = compose["services"][service]["environment"]

    assert environment["LOGIN_FAILURE_LIMIT"] is None
    assert environment["TRUSTED_PROXY_COUNT"] is None
    assert all(value is None or value != "" for value in environment.values())


def test_the_web_port_is_published_on_loopback_unless_the_operator_says_otherwise(compose: dict) -> None:
    (published,) = compose["services"]["web"]["ports"]

    assert published.startswith("${SIGWISE_BIND:-127.0.0.1}:")
    for service, definition in compose["services"].items():
        if service != "web":
            assert "ports" not in definition, service


def test_the_database_password_has_no_default(compose: dict) -> None:
    text = (REPOSITORY / "docker-compose.yml").read_text()
    uses = re.findall(r"\$\{POSTGRES_PASSWORD([^}]*)\}", text)

    assert compose["services"]["db"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "${POSTGRES_PASSWORD:?" in compose["services"]["web"]["environment"]["DATABASE_URL"]
    assert uses
    assert all(use.startswith(":?") for use in uses), uses


def test_the_example_env_file_names_the_required_settings() -> None:
    example = (REPOSITORY / ".env.example").read_text()

    assert re.search(r"^DJANGO_SECRET_KEY=$", example, re.M)
    assert re.search(r"^POSTGRES_PASSWORD=$", example, re.M)
