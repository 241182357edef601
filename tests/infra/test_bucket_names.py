"""S3 bucket names: unique per account, region and stage, within S3's naming rules.

Bucket names are global across accounts; a fixed name fails with BucketAlreadyExists for the
second deployer. Rules followed:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/gpbucketnamespaces.html
"""

from __future__ import annotations

import runpy
from typing import Any

import boto3
import pulumi
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.bucket_names import BUCKET_NAME, bucket_name, bucket_namespace
from infra.local.provision import provision_stage
from infra.spec import STAGE_PATTERN, stage_spec
from partners.core.constants import Env
from tests.infra.cloud_mocks import (
    PROGRAM,
    PROJECT,
    TEST_SECRETS,
    RecordingMocks,
    lambda_archive,
    pulumi_config,
    stack_config,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BUCKET = "aws:s3/bucket:Bucket"
FUNCTION = "aws:lambda/function:Function"
LONGEST_STAGE = "s" + "9" * 11
# The longest region codes in use: 14 characters.
LONG_REGIONS = ("ap-southeast-5", "ap-northeast-3", "cn-northwest-1", "us-gov-west-1")


def test_the_longest_stage_makes_valid_names_in_every_region_shape():
    assert STAGE_PATTERN.match(LONGEST_STAGE)
    for region in LONG_REGIONS + ("me-central-1",):
        spec = stage_spec(LONGEST_STAGE, account_id="999999999999", region=region)
        for bucket in spec.buckets.values():
            assert 3 <= len(bucket.name) <= 63, bucket.name
            assert BUCKET_NAME.match(bucket.name) and "--" not in bucket.name
            assert "." not in bucket.name and bucket.name == bucket.name.lower()
    assert max(len(b.name) for b in stage_spec(
        LONGEST_STAGE, account_id="999999999999", region="ap-southeast-5").buckets.values()) == 57  # 6 to spare


def test_names_hold_account_and_region_in_the_accounts_regional_namespace():
    spec = stage_spec("dev", account_id="111122223333", region="eu-west-1")
    assert spec.buckets["documents"].name == "pgw-dev-documents-111122223333-eu-west-1-an"
    assert spec.buckets["datalake"].name == "pgw-dev-datalake-111122223333-eu-west-1-an"
    assert {b.namespace for b in spec.buckets.values()} == {"account-regional"}


def test_regions_without_the_regional_namespace_use_the_global_one_without_the_suffix():
    """"Bucket names can only end with the suffix -an when you create the bucket in your
    account regional namespace" (not offered in me-south-1 and me-central-1)."""
    assert bucket_namespace("me-south-1") == "global"
    name = bucket_name("pgw-dev", "datalake", "111122223333", "me-south-1")
    assert name == "pgw-dev-datalake-111122223333-me-south-1"
    assert stage_spec("dev", account_id="111122223333",
                      region="me-south-1").buckets["datalake"].namespace == "global"


@pytest.mark.parametrize("account, region", [
    ("12345", "eu-west-1"), ("12345678901a", "eu-west-1"), ("111122223333", "EU-WEST-1"),
    ("111122223333", "eu_west_1"), ("111122223333", "")])
def test_bad_account_or_region_is_refused(account, region):
    with pytest.raises(ValueError):
        bucket_name("pgw-dev", "documents", account, region)


def test_a_name_over_63_characters_is_refused():
    with pytest.raises(ValueError, match="naming rules"):
        bucket_name("pgw-" + "x" * 30, "documents", "111122223333", "ap-southeast-5")


# --- the Pulumi program names its buckets for the provider's account -------------------------

class AccountMocks(RecordingMocks):
    """The recording mocks, with the caller identity of `account`."""

    def __init__(self, region: str, account: str) -> None:
        super().__init__(region)
        self.account = account

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": self.account, "arn": f"arn:aws:iam::{self.account}:user/t",
                    "userId": "AIDTEST", "id": self.account}
        return super().call(args)


def _program_in(account: str, stack: str = "dev") -> AccountMocks:
    config = {**stack_config(stack), f"{PROJECT}:lambdaArchive": lambda_archive()}
    mocks = AccountMocks(config["aws:region"], account)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    pulumi.runtime.set_all_config({**pulumi_config(config), **TEST_SECRETS}, list(TEST_SECRETS))

    @pulumi.runtime.test
    def run() -> None:
        runpy.run_path(str(PROGRAM), run_name="__main__")

    run()
    return mocks


def _buckets(mocks: AccountMocks) -> dict[str, dict[str, Any]]:
    return {r.name.rsplit("-", 1)[1]: r.inputs for r in mocks.resources
            if r.type == BUCKET}


def test_two_accounts_get_different_bucket_names_and_functions_read_them():
    first, second = _program_in("111111111111"), _program_in("222222222222")
    ones, twos = _buckets(first), _buckets(second)
    assert set(ones) == set(twos) == {"documents", "datalake"}
    for logical in ("documents", "datalake"):
        assert ones[logical]["bucket"] == f"pgw-dev-{logical}-111111111111-eu-west-1-an"
        assert twos[logical]["bucket"] == f"pgw-dev-{logical}-222222222222-eu-west-1-an"
        assert ones[logical]["bucketNamespace"] == "account-regional"
    every_input = repr([r.inputs for r in first.resources])
    assert "pgw-dev-documents\"" not in every_input and "'pgw-dev-documents'" not in every_input
    assert "'pgw-dev-datalake'" not in repr([r.inputs for r in first.resources if r.type == BUCKET])
    functions = [r for r in first.resources if r.type == FUNCTION]
    assert functions
    for function in functions:
        variables = function.inputs["environment"]["variables"]
        assert variables[Env.DOCUMENTS_BUCKET] == ones["documents"]["bucket"]
        assert variables[Env.DATALAKE_BUCKET] == ones["datalake"]["bucket"]


# --- the embedded stack names them the same way, and refuses a name another account holds ----

def test_the_embedded_stack_provisions_the_same_names():
    spec = stage_spec("local")
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        provision_stage(spec, session=session, tables=False)
        names = {b["Name"] for b in session.client("s3").list_buckets()["Buckets"]}
    assert names == {bucket_name("pgw-local", logical, "123456789012", "us-east-1")
                     for logical in ("documents", "datalake")}


def test_a_bucket_name_another_account_holds_is_refused(monkeypatch):
    spec = stage_spec("local")
    with mock_aws():
        monkeypatch.setenv("MOTO_ACCOUNT_ID", "210987654321")
        boto3.client("s3", region_name="us-east-1").create_bucket(
            Bucket=spec.buckets["datalake"].name)
        monkeypatch.delenv("MOTO_ACCOUNT_ID")
        with pytest.raises(ClientError, match="BucketAlreadyExists"):
            provision_stage(spec, session=boto3.session.Session(region_name="us-east-1"),
                            tables=False)
