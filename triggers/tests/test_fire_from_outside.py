"""An API trigger's page shows how to fire it from a script: the URL, and curl, Python and
JavaScript ready to paste with a placeholder for the API key."""

from __future__ import annotations

import html as html_module

from django.test import Client

from accounts.models import User
from tests.support import make_api_trigger, make_trigger, signed_in


def test_an_api_trigger_page_shows_its_full_fire_url_and_snippets(owner: User) -> None:
    trigger = make_api_trigger(owner, api_payload={"order": "it's 42"})

    page = html_module.unescape(signed_in(owner).get(f"/triggers/{trigger.id}/").content.decode())

    url = f"http://testserver/api/v1/triggers/{trigger.id}/fire"
    assert f'<code class="fire-url" id="fire-url">{url}</code>' in page
    assert f"curl -X POST {url}" in page
    assert "Authorization: Bearer sw_YOUR_API_KEY" in page
    assert """-d '{"order": "it'"'"'s 42"}'""" in page  # shell-quoted, so it pastes as typed
    assert "requests.post(" in page
    assert "await fetch(" in page
    assert page.count('data-copy="') == 4  # the URL and each snippet
    assert '<script src="/static/triggers/copy.js" defer></script>' in page


def test_a_scheduled_trigger_page_has_no_fire_snippets(owner: User) -> None:
    trigger = make_trigger(owner)

    page = signed_in(owner).get(f"/triggers/{trigger.id}/").content.decode()

    assert "Fire it from outside" not in page


def test_the_snippets_escape_the_payload_in_the_page(owner: User) -> None:
    trigger = make_api_trigger(owner, api_payload={"note": "<script>alert(1)</script>"})

    page = Client()
    page.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")

    assert "<script>alert(1)</script>" not in page.get(f"/triggers/{trigger.id}/").content.decode()
