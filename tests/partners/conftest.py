"""Fixtures shared by the request-lifecycle tests: the request log and its views in moto."""

from __future__ import annotations

import pytest

from partners.requests.log import RequestLog
from partners.requests.views import RequestViews


@pytest.fixture
def log(stage, aws, clock):
    return RequestLog(stage.spec.tables["request_events"].name, boto3_session=aws, clock=clock)


@pytest.fixture
def views(stage, aws):
    t = stage.spec.tables
    return RequestViews(t["requests"].name, t["partner_inbox"].name, t["user_timeline"].name,
                        boto3_session=aws)
