"""Shared fixtures: fake AWS credentials, moto, and a provisioned stage."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import boto3
import pytest

# No test may reach a real AWS account: fake credentials and a fixed region for every client,
# set before any test module creates one.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
})
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 11, 23, 10, 0, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def aws():
    """moto in-process for the test's duration; yields a boto3 session."""
    from moto import mock_aws

    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1")


@pytest.fixture
def spec():
    from infra.spec import stage_spec

    return stage_spec("test")


@pytest.fixture
def stage(aws, spec):
    """The `test` stage provisioned into moto."""
    from infra.local.provision import provision_stage

    return provision_stage(spec, session=aws)
