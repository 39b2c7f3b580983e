"""Every page is served with a Content-Security-Policy that allows no inline script, and no
template carries one (issue 11, "Headers")."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import User
from tests.browser.test_flows import PASSWORD
from tests.support import REPOSITORY, make_api_trigger

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def script_sources(policy: str) -> list[str]:
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return directives.get("script-src", directives["default-src"]).split()


def test_no_template_has_an_inline_script_or_event_handler() -> None:
    for template in (REPOSITORY / "templates").rglob("*.html"):
        text = template.read_text()
        assert not INLINE_SCRIPT.search(text), template
        assert not INLINE_HANDLER.search(text), template


def test_every_page_sends_a_policy_without_inline_scripts(owner: User, client: Client) -> None:
    trigger = make_api_trigger(owner)
    staff = User.objects.create_superuser(email="admin@example.com", password=PASSWORD)
    anonymous = ["/auth/login", "/auth/register", "/docs", "/docs?script=", "/admin/login/"]
    own = ["/", "/triggers/", "/triggers/new", f"/triggers/{trigger.id}/", f"/triggers/{trigger.id}/edit", "/events/"]
    admin = ["/admin/", "/admin/triggers/trigger/", f"/admin/triggers/trigger/{trigger.id}/change/"]

    for path in anonymous:
        assert_policy(client.get(path), path)
    client.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    for path in own:
        assert_policy(client.get(path), path)
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    for path in admin:
        assert_policy(client.get(path), path)


def assert_policy(response, path: str) -> None:
    assert response.status_code == 200, path
    policy = response["Content-Security-Policy"]
    sources = script_sources(policy)
    assert sources == ["'self'"], (path, policy)
    assert "frame-ancestors 'none'" in policy
    if not path.startswith(("/admin", "/docs")):  # Django's and Swagger's pages are checked in a browser
        assert not INLINE_SCRIPT.search(response.content.decode()), path


@pytest.mark.django_db
def test_the_policy_allows_swagger_its_inline_style_only_on_docs(client: Client) -> None:
    assert "'unsafe-inline'" in client.get("/docs")["Content-Security-Policy"]
    assert "'unsafe-inline'" not in client.get("/auth/login")["Content-Security-Policy"]


@pytest.mark.django_db
def test_the_kept_policy_is_the_one_django_csp_builds_from_the_settings(client: Client) -> None:
    from csp.utils import build_policy

    assert client.get("/auth/login")["Content-Security-Policy"] == build_policy()
    assert client.get("/api/v1/triggers")["Content-Security-Policy"] == build_policy()  # a 401 too
