"""Resend deliveries the partner picks, to that partner environment only, and audit it.

The console's use case around `partners.deliveries`' resender (which puts the CloudEvent on
the bus again with the same `id`, addressed to this environment only, within the
environment's resend rate): the role check, the loop over a selection, and one audit record.
A rate-limit refusal stops the loop (the rest would be refused too) and says when to retry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from partners.deliveries import (
    DeliveryNotFoundError,
    DeliveryNotResendableError,
    ResendFailedError,
    ResendRateLimitedError,
)
from partners.onboarding import Actor, AuditLog, Permission, partner_target, require

MAX_SELECTION = 50  # deliveries one form can resend


@dataclass
class ResendResult:
    """What a resend of a selection did."""

    queued: list[str] = field(default_factory=list)  # delivery ids sent again
    failed: dict[str, str] = field(default_factory=dict)  # delivery id -> why not
    retry_after: int | None = None  # set when the environment's resend rate refused


def resend_deliveries(resender: Any, audit: AuditLog, actor: Actor, partner_id: str,
                      environment: str, delivery_ids: Iterable[str]) -> ResendResult:
    """Send each chosen delivery again to this partner environment, with its CloudEvent id.

    Parameters
    ----------
    resender: `partners.deliveries.Resender` (`resend(partner_id, environment, id)`).
    audit: the audit log.
    actor: the member who asks (the deliveries permission).
    partner_id, environment: the partner environment (deliveries of others are not found).
    delivery_ids: the chosen deliveries (at most `MAX_SELECTION` are taken).

    Returns
    -------
    The `ResendResult`; one `delivery.resent` audit record when any was queued.

    Raises
    ------
    RoleRefusedError: the actor may not resend.
    """
    require(actor, partner_id, Permission.DELIVERIES)
    result = ResendResult()
    for delivery_id in list(dict.fromkeys(delivery_ids))[:MAX_SELECTION]:
        try:
            resender.resend(partner_id, environment, delivery_id, actor=actor)
        except ResendRateLimitedError as error:
            result.retry_after = error.retry_after
            break
        except DeliveryNotFoundError:
            result.failed[delivery_id] = "not found in this environment"
        except DeliveryNotResendableError as error:
            result.failed[delivery_id] = error.reason
        except ResendFailedError:
            result.failed[delivery_id] = "the event bus did not take it; try again"
        else:
            result.queued.append(delivery_id)
    if result.queued:
        audit.record(actor=actor, action="delivery.resent", target=partner_target(partner_id),
                     after={"environment": environment, "deliveries": result.queued})
    return result
