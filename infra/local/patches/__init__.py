"""Every change the embedded stack makes to moto's and Powertools' internals, in one place.

Each patch is a named function in the module of the library area it changes, whose docstring
says what it replaces (and in which releases), what AWS does there, why moto or Powertools
does not, and the AWS documentation page it follows. `apply()` checks every patch's versions
(`PatchVersionError` names the patch and the version found) and installs them all, once per
process; nothing here patches at import time.

    from infra.local import patches
    patches.apply()            # before moto serves its first request (GetUsage's route)
    patches.attach(runtime)    # hooked calls (rule targets, Invoke, streams) go to it
    patches.detach(runtime)    # ... and back to moto's own behaviour

`apply()` is called by `EmbeddedStack.start` (before moto's server starts), by
`LocalRuntime.start`, and when the local runtime first imports a handler (Powertools).
"""

from __future__ import annotations

from infra.local.patches import moto_apigateway, moto_connections, moto_core, moto_dynamodb
from infra.local.patches import moto_events, moto_iam
from infra.local.patches import moto_lambda, moto_logs, moto_sns, powertools
from infra.local.patches.host import Host, attach, attached, detach
from infra.local.patches.moto_apigateway import (
    UsageRecorder,
    parse_usage_dates,
    serve_authorizer_cache,
    usage_report,
    withdraw_authorizer_cache,
)
from infra.local.patches.moto_connections import (
    USABLE_STATES,
    connection_state,
    mark_deauthorized,
)
from infra.local.patches.moto_events import send_with_moto, test_event_pattern
from infra.local.patches.powertools import router_state_isolated
from infra.local.patches.registry import (
    Patch,
    PatchSet,
    PatchVersionError,
    Requirement,
)

# Every patch, in the order it is installed.
PATCHES = PatchSet(moto_core.PATCHES + moto_dynamodb.PATCHES + moto_events.PATCHES
                   + moto_connections.PATCHES
                   + moto_lambda.PATCHES + moto_apigateway.PATCHES + moto_sns.PATCHES
                   + moto_iam.PATCHES + moto_logs.PATCHES
                   + powertools.PATCHES)


def apply() -> None:
    """Install every patch (idempotent, process-wide).

    Raises:
        PatchVersionError: a patched library is outside a patch's targeted releases.
    """
    PATCHES.apply()


__all__ = [
    "PATCHES",
    "USABLE_STATES",
    "Host",
    "Patch",
    "PatchSet",
    "PatchVersionError",
    "Requirement",
    "UsageRecorder",
    "apply",
    "attach",
    "attached",
    "connection_state",
    "detach",
    "mark_deauthorized",
    "parse_usage_dates",
    "router_state_isolated",
    "send_with_moto",
    "serve_authorizer_cache",
    "test_event_pattern",
    "usage_report",
    "withdraw_authorizer_cache",
]
