"""Routing: filter -> event pattern, resource names, desired and observed state, the pure
plan, the reconciler, quotas and headroom, dead letters and redrive, test events.

What other packages import from this concept; its modules are its own. What only the
console's pages use (dead letters and redrive, previews, resends, test events) is imported on
first use (`partners.core.surface`), so the reconciler's cold start does not pay for it.
"""

from typing import TYPE_CHECKING

from partners.core.surface import lazy_exports
from partners.routing.desired import RoutingSettings, desired_environment
from partners.routing.endpoint_alerts import AlertMailer
from partners.routing.endpoint_health import (
    EndpointGuard,
    EndpointHealthStore,
    HealthPolicy,
    Reenabled,
    reenable_endpoint,
)
from partners.routing.exceptions import (
    EndpointNotDisabledError,
    EventRefusedError,
    ReconcilerConfigError,
)
from partners.routing.names import rule_description
from partners.routing.observed import EventBridgeState
from partners.routing.quotas import Headroom, Quotas
from partners.routing.reconciler import Reconciler, ReconcilerSettings
from partners.routing.wording import describe_filter

if TYPE_CHECKING:
    from partners.routing.dead_letters import DeadLetters, RedriveResult, redrive_deliveries
    from partners.routing.preview import event_pattern_matcher, preview_filter
    from partners.routing.resends import ResendResult, resend_deliveries
    from partners.routing.test_events import (
        ProbeOutcome,
        SentProbe,
        find_probe,
        is_probe_of,
        probe_detail,
        probe_outcome,
        put_test_event,
        recent_probes,
        send_probe,
    )

__getattr__ = lazy_exports(__name__, {
    **dict.fromkeys(("DeadLetters", "RedriveResult", "redrive_deliveries"), "dead_letters"),
    **dict.fromkeys(("event_pattern_matcher", "preview_filter"), "preview"),
    **dict.fromkeys(("ResendResult", "resend_deliveries"), "resends"),
    **dict.fromkeys(("ProbeOutcome", "SentProbe", "find_probe", "is_probe_of", "probe_detail",
                     "probe_outcome", "put_test_event", "recent_probes", "send_probe"),
                    "test_events"),
})

__all__ = [
    "AlertMailer",
    "EndpointGuard",
    "EndpointHealthStore",
    "EndpointNotDisabledError",
    "HealthPolicy",
    "Reenabled",
    "reenable_endpoint",
    "ResendResult",
    "resend_deliveries",
    "DeadLetters",
    "EventBridgeState",
    "EventRefusedError",
    "Headroom",
    "ProbeOutcome",
    "Quotas",
    "Reconciler",
    "ReconcilerConfigError",
    "ReconcilerSettings",
    "RedriveResult",
    "RoutingSettings",
    "SentProbe",
    "describe_filter",
    "desired_environment",
    "event_pattern_matcher",
    "find_probe",
    "is_probe_of",
    "preview_filter",
    "probe_detail",
    "probe_outcome",
    "put_test_event",
    "recent_probes",
    "redrive_deliveries",
    "rule_description",
    "send_probe",
]
