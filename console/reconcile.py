"""Ask the reconciler to converge one partner: an asynchronous Lambda invoke.

The same call on AWS and in the embedded stack (whose local runtime serves Lambda Invoke by
calling the handler in-process). A failed trigger is not the partner's problem to solve: the
save stands, and the reconciler's schedule picks the partner up within minutes; the console
says so instead of failing the save.

This is the console's `trigger` for the onboarding use cases (`partners.onboarding.Onboarding`):
the domain only knows a callable `partner_id -> sent?`, since onboarding must not import
routing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger(__name__)


class ReconcileTrigger:
    """Invoke the reconciler function with `{"partner_id": ...}` (InvocationType Event)."""

    def __init__(self, function_name: str | None, lambda_client: Any):
        self.function_name = function_name
        self._lambda = lambda_client

    def __call__(self, partner_id: str) -> bool:
        """Trigger a reconcile of `partner_id`; False when the trigger could not be sent."""
        if not self.function_name:
            logger.warning("no reconciler function configured; %s waits for the schedule",
                           partner_id)
            return False
        try:
            self._lambda.invoke(FunctionName=self.function_name, InvocationType="Event",
                                Payload=json.dumps({"partner_id": partner_id}).encode())
        except (ClientError, BotoCoreError) as error:
            logger.warning("reconcile trigger for %s failed: %s", partner_id, error)
            return False
        return True
