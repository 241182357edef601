"""Deliveries: what EventBridge did with each event for each partner environment, folded from
the event bus's own logs; resends that keep the CloudEvent id; endpoint health figures.

What other packages import from this concept; its modules are its own. `Resender` and the
health figures are imported on first use (`partners.core.surface`): resends need the onboarding
concept (roles, the audit log) and the figures are the console's, and the log's other readers
(the indexer, the reconciler, the list routes) need neither at cold start.
"""

from typing import TYPE_CHECKING

from partners.core.surface import lazy_exports

from partners.deliveries.exceptions import (
    DeliveryError,
    DeliveryNotFoundError,
    DeliveryNotResendableError,
    InvalidDeliveryQueryError,
    MalformedRecordError,
    ResendFailedError,
    ResendRateLimitedError,
)
from partners.deliveries.fold import fold, partner_environment
from partners.deliveries.models import (
    Attempt,
    AttemptOutcome,
    Delivery,
    Outcome,
    delivery_id,
)
from partners.deliveries.queries import (
    DeliveryPage,
    DeliveryQueries,
    parse_outcome,
    parse_time,
)
from partners.deliveries.records import BusLogRecord, MessageType, parse_record
from partners.deliveries.store import (
    DEFAULT_TTL_DAYS,
    ENVIRONMENT_INDEX,
    HOUR_INDEX,
    LISTED_ATTRIBUTES,
    DeliveryStore,
    IndexResult,
)

__all__ = [
    "DEFAULT_TTL_DAYS", "ENVIRONMENT_INDEX", "HOUR_INDEX", "LISTED_ATTRIBUTES",
    "Attempt", "AttemptOutcome", "BusLogRecord", "Delivery", "DeliveryError",
    "DeliveryHealth", "DeliveryNotFoundError", "DeliveryNotResendableError", "DeliveryPage",
    "DeliveryQueries", "DeliveryStore", "EnvironmentHealth", "EnvironmentSummary",
    "HealthBucket", "IndexResult", "InvalidDeliveryQueryError", "MalformedRecordError",
    "MessageType", "Outcome", "ResendFailedError", "ResendRateLimitedError", "Resender", "delivery_id", "fold",
    "parse_outcome", "parse_record", "parse_time", "partner_environment",
]

if TYPE_CHECKING:
    from partners.deliveries.health import (
        DeliveryHealth,
        EnvironmentHealth,
        EnvironmentSummary,
        HealthBucket,
    )
    from partners.deliveries.resend import Resender

__getattr__ = lazy_exports(__name__, {
    **dict.fromkeys(("DeliveryHealth", "EnvironmentHealth", "EnvironmentSummary",
                     "HealthBucket"), "health"),
    "Resender": "resend",
})
