"""Endpoint credentials in Secrets Manager: one secret per partner environment.

The registry keeps only the secret's ARN and the date it was set. The reconciler reads the
value to copy it into the EventBridge connection (which AWS keeps in Secrets Manager too).
Values are never logged, returned to the console, or written to DynamoDB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import boto3
from botocore.exceptions import ClientError

from partners.core.aws import client, error_code
from partners.core.constants import MANAGED_BY_VALUE, Tags, endpoint_secret_name
from partners.core.exceptions import ValidationError
from partners.onboarding.models import AuthType

# The one secret field each auth type has (the rest of its settings are not secret).
SECRET_FIELD = {
    AuthType.API_KEY: "api_key_value",
    AuthType.BASIC: "password",
    AuthType.OAUTH_CLIENT_CREDENTIALS: "client_secret",
}


@dataclass(frozen=True)
class StoredSecret:
    arn: str
    set_on: str


class CredentialStore:
    """Put, read and delete the endpoint secret of a partner environment."""

    # Deleted credentials stay recoverable for a week: a mistaken "clear" can be undone.
    recovery_window_days = 7

    def __init__(self, secret_prefix: str, *, boto3_session: boto3.session.Session | None = None):
        self.secret_prefix = secret_prefix
        self._secrets = client("secretsmanager", boto3_session)

    def name(self, partner_id: str, environment: str) -> str:
        return endpoint_secret_name(self.secret_prefix, partner_id, environment)

    def put(self, partner_id: str, environment: str, auth_type: AuthType, value: str,
            *, set_on: str) -> StoredSecret:
        """Store (or replace) the secret value for `auth_type`; return its ARN.

        Raises
        ------
        ValidationError: an empty value or one over 4 KB.
        """
        if not isinstance(value, str) or not value or len(value) > 4096:
            raise ValidationError("the credential must be 1-4096 characters",
                                  field=SECRET_FIELD[auth_type])
        name = self.name(partner_id, environment)
        payload = json.dumps({"auth_type": auth_type.value, SECRET_FIELD[auth_type]: value,
                              "set_on": set_on})
        try:
            described = self._secrets.describe_secret(SecretId=name)
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
            arn = self._secrets.create_secret(
                Name=name,
                SecretString=payload,
                Description=f"Endpoint credentials of partner {partner_id} ({environment})",
                Tags=[{"Key": Tags.MANAGED_BY, "Value": MANAGED_BY_VALUE},
                      {"Key": Tags.PARTNER_ID, "Value": partner_id},
                      {"Key": Tags.ENVIRONMENT, "Value": environment}],
            )["ARN"]
        else:
            if described.get("DeletedDate"):  # cleared earlier, still recoverable: restore
                self._secrets.restore_secret(SecretId=name)
            arn = self._secrets.put_secret_value(SecretId=name, SecretString=payload)["ARN"]
        return StoredSecret(arn=arn, set_on=set_on)

    def value(self, secret_arn: str) -> str:
        """The secret value (for the reconciler only)."""
        payload = json.loads(self._secrets.get_secret_value(SecretId=secret_arn)["SecretString"])
        return payload[SECRET_FIELD[AuthType(payload["auth_type"])]]

    def version(self, secret_arn: str) -> str:
        """An identifier that changes whenever the value changes (never the value itself)."""
        versions = self._secrets.describe_secret(SecretId=secret_arn).get("VersionIdsToStages", {})
        current = [v for v, stages in versions.items() if "AWSCURRENT" in stages]
        return current[0] if current else ""

    def current_versions(self, partner_id: str | None = None) -> dict[str, str]:
        """The current version id of every endpoint secret (of one partner), by secret ARN.

        One `ListSecrets` page per 100 secrets, where `version` costs a call per secret; the
        reconciler's config hash covers these ids, never the values.
        """
        prefix = self.secret_prefix + (f"{partner_id}/" if partner_id else "")
        request = {"Filters": [{"Key": "name", "Values": [prefix]}], "MaxResults": 100}
        versions: dict[str, str] = {}
        while True:
            response = self._secrets.list_secrets(**request)
            for secret in response.get("SecretList", []):
                if not secret.get("Name", "").startswith(prefix):
                    continue  # the filter is a case-insensitive prefix match
                current = [v for v, stages in (secret.get("SecretVersionsToStages") or {}).items()
                           if "AWSCURRENT" in stages]
                if current:
                    versions[secret["ARN"]] = current[0]
            if not response.get("NextToken"):
                return versions
            request["NextToken"] = response["NextToken"]

    def delete(self, partner_id: str, environment: str) -> None:
        try:
            self._secrets.delete_secret(SecretId=self.name(partner_id, environment),
                                        RecoveryWindowInDays=self.recovery_window_days)
        except ClientError as error:
            if error_code(error) not in ("ResourceNotFoundException", "InvalidRequestException"):
                raise
