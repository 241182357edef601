"""What a handler's cold start imports: only what its routes and events can need (issue 13).

Each handler is imported (and its dependencies built, as the first invocation does) in a fresh
interpreter; the concepts' modules that only other handlers or some routes use must not be
loaded by then (`partners.core.surface` and the lazy builders). `bench/handlers.py` measures
what the rest costs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import partners.deliveries
import partners.notifications
import partners.requests
import partners.routing
from bench.handlers import stage_environment

ROOT = Path(__file__).resolve().parents[2]

# handler -> modules its cold start must not load (what only other routes or handlers use).
NOT_LOADED = {
    "handlers.partner_api": [
        "partners.onboarding",  # only the resend route audits (built with the delivery routes)
        "partners.deliveries.resend",
        "aws_lambda_powertools.utilities.idempotency",  # the log is its own record
    ],
    "handlers.portal_api": [
        "partners.deliveries",  # the portal has no delivery routes
        "partners.onboarding",
        "partners.notifications.notifier",  # it keeps contacts, it does not notify
    ],
    "handlers.reconciler": [
        "partners.requests",  # the console's previews and test events read requests
        "partners.routing.preview",
        "partners.routing.test_events",
        "partners.routing.dead_letters",
        "partners.routing.resends",
        "partners.deliveries.resend",
        "partners.deliveries.health",  # the console's figures
    ],
    "handlers.routing_recorder": ["aws_lambda_powertools.utilities.idempotency",
                                  "partners.onboarding"],
    "handlers.projector": ["aws_lambda_powertools.utilities.idempotency",
                           "partners.onboarding"],
    "handlers.delivery_indexer": ["partners.onboarding", "partners.deliveries.resend",
                                  "partners.deliveries.health"],
}

_PROBE = """
import json, sys
sys.path.insert(0, {root!r})
import {module} as handler
handler.dependencies.get()
print(json.dumps(sorted(sys.modules)))
"""


def cold_start_modules(module: str) -> set[str]:
    """The modules loaded after importing `module` and building its dependencies."""
    # The stage's variables exactly as the cold-start bench sets them.
    env = {**os.environ, **stage_environment("coldstart")}
    output = subprocess.run([sys.executable, "-c", _PROBE.format(root=str(ROOT), module=module)],
                            env=env, capture_output=True, text=True, check=True).stdout
    return set(json.loads(output.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", sorted(NOT_LOADED))
def test_a_cold_start_loads_nothing_only_other_routes_need(module: str) -> None:
    loaded = cold_start_modules(module)
    assert module in loaded
    assert [name for name in NOT_LOADED[module] if name in loaded] == []


@pytest.mark.parametrize("concept", [partners.deliveries, partners.notifications,
                                     partners.requests, partners.routing],
                         ids=lambda concept: concept.__name__)
def test_every_name_of_a_lazy_surface_resolves(concept) -> None:
    missing = [name for name in concept.__all__ if getattr(concept, name, None) is None]
    assert missing == []
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        concept.NoSuchName  # noqa: B018 - the lookup is the test
