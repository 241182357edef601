"""How the routing of a partner environment is spelt: resource names, target ids, the rule
description that carries the config hash, and the hashes themselves.

A partner environment's resources are all named `partner_resource_name(prefix, partner_id,
environment)`; `parse_resource_name` reads such a name back and is how the reconciler knows
what it owns.

Change detection is cheap by design. The rule's description carries the config hash of what
was last applied completely (`managed-by=... config-hash=<hash>`), and `ListRules` pages show
descriptions, so a resync learns from a few list pages that nothing changed. The hash is
written last (the rule's "stamp"): a run that dies half-way leaves an old or `pending` stamp,
and the next run looks closer at that environment and finishes the job.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from partners.core.constants import MANAGED_BY_VALUE, Tags, parse_partner_resource_name

RULE_ENABLED = "ENABLED"
RULE_DISABLED = "DISABLED"
HTTP_METHOD = "POST"
PENDING_HASH = "pending"
MAX_NAME_LENGTH = 64  # rules, connections, API destinations (SQS allows 80)
MANAGED_MARKER = f"{Tags.MANAGED_BY}={MANAGED_BY_VALUE}"
# Stands for "this environment's API destination" in a target until apply knows its ARN
# (AWS puts a random suffix in it).
DESTINATION_ARN = "@destination"


class TargetId:
    DELIVERY = "delivery"
    ROUTING = "routing"


KNOWN_TARGET_IDS = (TargetId.DELIVERY, TargetId.ROUTING)


def rule_description(config_hash: str) -> str:
    """The rule description that marks it as ours and records the applied config hash.

    Parameters
    ----------
    config_hash: the hash to record (`PENDING_HASH` while a rule's targets are not in yet).

    Returns
    -------
    `managed-by=partner-event-gateway config-hash=<config_hash>`.
    """
    return f"{MANAGED_MARKER} {Tags.CONFIG_HASH}={config_hash}"


def description_hash(description: str | None) -> str | None:
    """The config hash recorded in a description made by `rule_description`.

    Parameters
    ----------
    description: a rule's (or connection's) description, or None.

    Returns
    -------
    The hash, or None when the description records none.
    """
    for word in (description or "").split():
        key, _, value = word.partition("=")
        if key == Tags.CONFIG_HASH and value:
            return value
    return None


def short_hash(data: Any) -> str:
    """A 16-hex-digit SHA-256 of the canonical JSON of `data`.

    Parameters
    ----------
    data: anything `json.dumps` can write (other values are written with `str`).

    Returns
    -------
    The first 16 hex digits of the digest.
    """
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_resource_name(prefix: str, name: str) -> tuple[str, str] | None:
    """`(partner_id, environment)` of a name made by `partner_resource_name`.

    Partner ids and environment names never contain `-`, so the split is unambiguous.

    Parameters
    ----------
    prefix: the stage's partner-resource prefix.
    name: a resource name.

    Returns
    -------
    The pair, or None when the name is not one of this stage's partner resources.
    """
    return parse_partner_resource_name(prefix, name)
