"""The strict page size, on each API list that uses it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/triggers", "/api/v1/event_logs"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("page_size", ["null", "1.5", "ten", ""])
def test_a_malformed_page_size_is_a_400_naming_it(api, path: str, page_size: str) -> None:
    response = api.get(path, {"page_size": page_size})
    assert response.status_code == 400
    assert "page_size" in response.json()


@pytest.mark.parametrize("path", LISTS)
def test_a_whole_page_size_is_still_honoured(api, path: str) -> None:
    assert api.get(path, {"page_size": "5"}).status_code == 200
