"""Endpoint credentials live in Secrets Manager, one secret per partner environment."""

from __future__ import annotations

import pytest

from partners.core.exceptions import ValidationError
from partners.onboarding.credentials import CredentialStore
from partners.onboarding.models import AuthType


@pytest.fixture
def credentials(aws, spec):
    return CredentialStore(spec.secret_prefix, boto3_session=aws)


def test_put_read_replace_delete(credentials, aws):
    stored = credentials.put("p1", "prod", AuthType.API_KEY, "key-one", set_on="2026-11-23")
    assert credentials.value(stored.arn) == "key-one"
    first_version = credentials.version(stored.arn)
    again = credentials.put("p1", "prod", AuthType.API_KEY, "key-two", set_on="2026-11-24")
    assert again.arn == stored.arn and credentials.value(stored.arn) == "key-two"
    assert credentials.version(stored.arn) != first_version
    secret = aws.client("secretsmanager").describe_secret(SecretId=stored.arn)
    assert secret["Name"] == "pgw/test/partners/p1/prod/endpoint-auth"
    assert {"Key": "partner-id", "Value": "p1"} in secret["Tags"]
    credentials.delete("p1", "prod")
    credentials.delete("p1", "prod")  # idempotent
    restored = credentials.put("p1", "prod", AuthType.BASIC, "pw", set_on="2026-11-25")
    assert credentials.value(restored.arn) == "pw"


@pytest.mark.parametrize("value", ["", "x" * 4097])
def test_refuses_empty_or_huge_values(credentials, value):
    with pytest.raises(ValidationError):
        credentials.put("p1", "prod", AuthType.OAUTH_CLIENT_CREDENTIALS, value, set_on="x")
