"""Quotas, usage and headroom, and the refusal past a quota, as tables."""

from __future__ import annotations

import pytest

from partners.routing.quotas import Headroom, Quotas, Usage, quota_refusal

ONE_OF_EACH = Usage(rules=1, api_destinations=1, connections=1)


@pytest.mark.parametrize("usage, demand, quotas, refused", [
    (Usage(), ONE_OF_EACH, Quotas(), None),
    (Usage(rules=299), Usage(rules=1), Quotas(), None),
    (Usage(rules=300), Usage(rules=1), Quotas(), "300 of 300 rules on the event bus"),
    (Usage(rules=305), Usage(), Quotas(), None),  # over already, but asks for nothing new
    (Usage(api_destinations=5), ONE_OF_EACH, Quotas(api_destinations=5),
     "5 of 5 API destinations in the account"),
    (Usage(connections=7), ONE_OF_EACH, Quotas(connections=7),
     "7 of 7 connections in the account"),
    # The first quota that does not fit is the one named.
    (Usage(rules=2, connections=2), ONE_OF_EACH, Quotas(rules_per_bus=2, connections=2),
     "2 of 2 rules on the event bus"),
])
def test_quota_refusal(usage, demand, quotas, refused):
    reason = quota_refusal(usage, demand, quotas)
    if refused is None:
        assert reason is None
    else:
        assert reason.startswith(f"quota exhausted: {refused} are in use")
        assert "raise the quota or move partners to another bus" in reason


@pytest.mark.parametrize("left, right, total", [
    (Usage(), Usage(), Usage()),
    (Usage(1, 2, 3), Usage(10, 20, 30), Usage(11, 22, 33)),
])
def test_usage_adds_up(left, right, total):
    assert left + right == total


def test_headroom_report():
    headroom = Headroom(Quotas(rules_per_bus=300), Usage(rules=290, api_destinations=3,
                                                         connections=3001))
    assert headroom.to_dict() == {
        "rules_per_bus": {"used": 290, "quota": 300, "left": 10},
        "api_destinations": {"used": 3, "quota": 3000, "left": 2997},
        "connections": {"used": 3001, "quota": 3000, "left": 0},
    }
