"""Empty the partner API's cache of authorizer results: API Gateway FlushStageAuthorizersCache.

API Gateway caches each token's authorizer answer (`AUTHORIZER_CACHE_SECONDS` in
infra/cloud/openapi.py), so without a flush a revoked token, the old token of a rotation
without overlap and the tokens of a suspended partner keep passing until their cached Allow
expires. The same call on AWS and in the embedded stack (where the moto patch empties the
API Gateway stand-in's cache).

This is the console's `flush_authorizers` for the onboarding use cases
(`partners.onboarding.Onboarding`). A failed flush is not an error of the revoke: the write
stands, the cached results expire within the TTL, and the console says so.
https://docs.aws.amazon.com/apigateway/latest/api/API_FlushStageAuthorizersCache.html
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger(__name__)


class AuthorizerCacheFlush:
    """Flush the authorizer cache of one REST API stage (`PGW_PARTNER_API_ID`, `..._STAGE`)."""

    def __init__(self, rest_api_id: str | None, stage_name: str | None, apigateway_client: Any):
        self.rest_api_id = rest_api_id
        self.stage_name = stage_name
        self._apigateway = apigateway_client

    def __call__(self) -> bool:
        """Empty the stage's authorizer cache; False when it could not be emptied."""
        if not self.rest_api_id or not self.stage_name:
            logger.warning("no partner API stage configured; cached authorizer results "
                           "expire on their own")
            return False
        try:
            self._apigateway.flush_stage_authorizers_cache(restApiId=self.rest_api_id,
                                                           stageName=self.stage_name)
        except (ClientError, BotoCoreError) as error:
            logger.warning("flushing the authorizer cache of %s/%s failed: %s",
                           self.rest_api_id, self.stage_name, error)
            return False
        return True
