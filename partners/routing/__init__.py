"""Routing: filter -> event pattern, resource names, desired and observed state, the pure
plan, the reconciler, quotas and headroom, dead letters and redrive, test events.

What other packages import from this concept; its modules are its own.
"""

from partners.routing.dead_letters import DeadLetters
from partners.routing.exceptions import EventRefusedError, ReconcilerConfigError
from partners.routing.observed import EventBridgeState
from partners.routing.plan import (
    Headroom,
    Quotas,
    RoutingSettings,
    desired_environment,
    rule_description,
)
from partners.routing.preview import preview_filter
from partners.routing.reconciler import Reconciler, ReconcilerSettings
from partners.routing.test_events import is_probe_of, probe_detail, probe_outcome, send_probe

__all__ = [
    "DeadLetters",
    "EventBridgeState",
    "EventRefusedError",
    "Headroom",
    "Quotas",
    "Reconciler",
    "ReconcilerConfigError",
    "ReconcilerSettings",
    "RoutingSettings",
    "desired_environment",
    "is_probe_of",
    "preview_filter",
    "probe_detail",
    "probe_outcome",
    "rule_description",
    "send_probe",
]
