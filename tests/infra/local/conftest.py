"""Every test here runs with the embedded stack's moto and Powertools patches applied.

`infra.local.patches.apply()` is idempotent and process-wide, as in `make run`; it runs
before any test's moto server serves a request (GetUsage's route is read once per server).
"""

from __future__ import annotations

import pytest

from infra.local import patches


@pytest.fixture(autouse=True, scope="session")
def moto_patches() -> None:
    patches.apply()
