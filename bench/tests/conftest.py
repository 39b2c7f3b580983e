from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """The harness tests use no database and no cache (overrides the project-wide fixture)."""
