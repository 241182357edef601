"""The console's authorizer-cache flush: FlushStageAuthorizersCache, a failure a warning."""

from __future__ import annotations

import logging

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from console.authorizer_cache import AuthorizerCacheFlush


class ApiGatewayClient:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[dict[str, str]] = []
        self.error = error

    def flush_stage_authorizers_cache(self, **kwargs: str) -> dict:
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {}


def test_it_flushes_the_configured_stage():
    client = ApiGatewayClient()
    assert AuthorizerCacheFlush("abc123", "prod", client)() is True
    assert client.calls == [{"restApiId": "abc123", "stageName": "prod"}]


@pytest.mark.parametrize("error", [
    ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}},
                "FlushStageAuthorizersCache"),
    EndpointConnectionError(endpoint_url="https://apigateway.example"),
])
def test_a_failed_flush_is_logged_and_reported(error, caplog):
    with caplog.at_level(logging.WARNING, logger="console.authorizer_cache"):
        assert AuthorizerCacheFlush("abc123", "prod", ApiGatewayClient(error))() is False
    assert "abc123/prod" in caplog.text


@pytest.mark.parametrize("api_id, stage", [(None, "prod"), ("abc123", None), ("", "")])
def test_without_a_configured_api_nothing_is_flushed(api_id, stage):
    client = ApiGatewayClient()
    assert AuthorizerCacheFlush(api_id, stage, client)() is False
    assert client.calls == []


def test_the_console_flushes_the_stage_named_by_its_settings(aws):
    """Against moto with the embedded stack's patch: an unknown API is NotFound, reported
    as a failed flush (the revoke still stands)."""
    from infra.local import patches

    patches.apply()
    flush = AuthorizerCacheFlush("nope", "prod", aws.client("apigateway"))
    assert flush() is False
