"""EventBridge quotas the reconciler must stay under, their use, and the refusal past them.

A quota is checked before writing, not discovered half-way through an environment: an
environment whose new resources would not fit is refused with a reason the partner reads
(`error: quota exhausted: ...`), and nothing of it is written.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quotas:
    """Limits the reconciler must stay under (AWS defaults; all adjustable by AWS)."""

    rules_per_bus: int = 300
    api_destinations: int = 3000
    connections: int = 3000


@dataclass(frozen=True)
class Usage:
    """How much of each quota is in use (every rule on the bus, not only ours)."""

    rules: int = 0
    api_destinations: int = 0
    connections: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.rules + other.rules, self.api_destinations + other.api_destinations,
                     self.connections + other.connections)


@dataclass(frozen=True)
class Headroom:
    """Quota use and what is left, for the admin console."""

    quotas: Quotas
    usage: Usage

    def to_dict(self) -> dict[str, dict[str, int]]:
        rows = {"rules_per_bus": (self.usage.rules, self.quotas.rules_per_bus),
                "api_destinations": (self.usage.api_destinations, self.quotas.api_destinations),
                "connections": (self.usage.connections, self.quotas.connections)}
        return {name: {"used": used, "quota": quota, "left": max(quota - used, 0)}
                for name, (used, quota) in rows.items()}


def quota_refusal(usage: Usage, demand: Usage, quotas: Quotas) -> str | None:
    """Why `demand` more resources on top of `usage` would not fit, if they would not.

    Parameters
    ----------
    usage: what is in use now (plus what this run already planned to create).
    demand: what one environment's plan would create.
    quotas: the limits.

    Returns
    -------
    The reason for the partner's status, or None when the demand fits.
    """
    checks = [
        ("rules on the event bus", usage.rules, demand.rules, quotas.rules_per_bus),
        ("API destinations in the account", usage.api_destinations, demand.api_destinations,
         quotas.api_destinations),
        ("connections in the account", usage.connections, demand.connections,
         quotas.connections),
    ]
    for what, used, wanted, quota in checks:
        if wanted and used + wanted > quota:
            return (f"quota exhausted: {used} of {quota} {what} are in use; raise the quota "
                    "or move partners to another bus before this environment can go live")
    return None
