"""Preflight against moto: a clean account passes, a taken bucket name and quotas near their
limit fail, and what moto lacks is a WARN that says how to check by hand, never a crash.

Bucket names are global across accounts (HeadBucket answers for any bucket):
https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html
Quota values come from Service Quotas, which moto lacks for these services: stubbed with
botocore's Stubber, shaped as
https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ListServiceQuotas.html
"""

from __future__ import annotations

import subprocess
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from infra.cloud.preflight import (
    Status,
    exit_status,
    main,
    report,
    run_checks,
    session_clients,
    settings_from_config,
)
from infra.spec import stage_spec
from tests.infra.cloud_mocks import REPO_ROOT, stack_config

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's
OTHER_ACCOUNT = "210987654321"


@pytest.fixture
def session():
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


def settings(stack: str = "dev", quotas: dict[str, int] | None = None, **changes: Any):
    config = stack_config(stack)
    if quotas:
        key = "partner-event-gateway:quotas"
        config = {**config, key: {**config[key], **quotas}}
    return settings_from_config(stack, config, **changes)


def clients_with(session, **stubbed: Any):
    """moto's clients, with `stubbed` ones (by service) in their place."""
    moto = session_clients(session, REGION)

    def clients(service: str, region: str | None = None) -> Any:
        return stubbed.get(service.replace("-", "_")) or moto(service, region)
    return clients


def by_what(checks) -> dict[str, Any]:
    return {check.what.split(" (")[0]: check for check in checks}


def service_quotas(values: dict[str, float]) -> Any:
    """A stubbed Service Quotas client answering the quota lookups in the order preflight
    makes them (rules per bus, API destinations, connections, usage plans)."""
    client = boto3.client("service-quotas", region_name=REGION)
    stubber = Stubber(client)
    events = [{"ServiceCode": "events", "QuotaCode": code, "QuotaName": name, "Value": value}
              for code, name, value in (
                  ("L-244521F2", "Rules per event bus", values.get("rules", 300.0)),
                  ("L-FB1C3A6D", "Api destinations", values.get("destinations", 3000.0)),
                  ("L-C8DB8F4C", "Connections", values.get("connections", 3000.0)))]
    for _ in range(3):
        stubber.add_response("list_service_quotas", {"Quotas": events},
                             {"ServiceCode": "events"})
    stubber.add_response("list_service_quotas", {"Quotas": [
        {"ServiceCode": "apigateway", "QuotaCode": "L-E8245D3C", "QuotaName":
         "Usage plans per account", "Value": values.get("plans", 300.0)}]},
        {"ServiceCode": "apigateway"})
    stubber.activate()
    return client


def test_a_clean_account_has_no_failure_and_says_what_it_could_not_check(session):
    checks = run_checks(settings(), clients_with(session))
    assert exit_status(checks) == 0, report(checks)
    found = by_what(checks)
    spec = stage_spec("dev", account_id=ACCOUNT, region=REGION)
    for bucket in spec.buckets.values():
        assert found[f"S3 bucket {bucket.name}"].status is Status.PASS
        assert "free" in found[f"S3 bucket {bucket.name}"].found
    # moto lacks these operations: each is a WARN with the command to run by hand.
    sandbox = found["SNS SMS sandbox"]
    assert sandbox.status is Status.WARN and "get-sms-sandbox-account-status" in sandbox.fix
    assert found["Powertools layer"].status is Status.WARN
    rules = found["EventBridge rules per event bus"]
    assert rules.status is Status.WARN and "Service Quotas" in rules.found
    assert "0 in use" in rules.found


def test_a_bucket_name_another_account_holds_fails(session, monkeypatch):
    spec = stage_spec("dev", account_id=ACCOUNT, region=REGION)
    taken = spec.buckets["datalake"].name
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=taken, CreateBucketConfiguration={"LocationConstraint": REGION})
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    checks = run_checks(settings(), clients_with(session))
    check = by_what(checks)[f"S3 bucket {taken}"]
    assert check.status is Status.FAIL and "not this account's" in check.found
    assert by_what(checks)[f"S3 bucket {spec.buckets['documents'].name}"].status is Status.PASS
    assert exit_status(checks) == 1


def test_a_bucket_this_account_already_has_passes(session):
    spec = stage_spec("dev", account_id=ACCOUNT, region=REGION)
    name = spec.buckets["documents"].name
    session.client("s3").create_bucket(Bucket=name,
                                       CreateBucketConfiguration={"LocationConstraint": REGION})
    check = by_what(run_checks(settings(), clients_with(session)))[f"S3 bucket {name}"]
    assert check.status is Status.PASS and "already this account's" in check.found


def _connections(session, count: int) -> None:
    events = session.client("events")
    for index in range(count):
        arn = events.create_connection(
            Name=f"other-{index}", AuthorizationType="API_KEY", AuthParameters={
                "ApiKeyAuthParameters": {"ApiKeyName": "X-Key", "ApiKeyValue": "v"}}
        )["ConnectionArn"]
        events.create_api_destination(Name=f"other-{index}", ConnectionArn=arn,
                                      InvocationEndpoint="https://example.com/hook",
                                      HttpMethod="POST")


@pytest.mark.parametrize("quota, status", [(5.0, Status.FAIL), (7.0, Status.WARN),
                                           (100.0, Status.PASS)])
def test_connections_and_destinations_near_the_quota(session, quota, status):
    _connections(session, 5)  # the stage adds one more of each (the portal callback)
    stated = {"connections": int(quota), "apiDestinations": int(quota)}
    checks = run_checks(settings(quotas=stated), clients_with(
        session, service_quotas=service_quotas({"connections": quota, "destinations": quota})))
    found = by_what(checks)
    for label in ("EventBridge connections", "EventBridge API destinations"):
        check = found[label]
        assert check.status is status, check.line()
        assert f"quota {int(quota)}" in check.what and "5 in use, 1 more" in check.found
    if status is Status.FAIL:
        assert "request-service-quota-increase --service-code events --quota-code " \
               "L-C8DB8F4C" in found["EventBridge connections"].fix


def test_a_stack_stating_more_rules_than_the_account_has_fails(session):
    """af-south-1 and eu-south-1 have 100 rules per bus by default, not 300."""
    checks = run_checks(settings(), clients_with(session, service_quotas=service_quotas(
        {"rules": 100.0})))
    check = by_what(checks)["EventBridge rules per event bus"]
    assert check.status is Status.FAIL
    assert "quotas.rulesPerBus: 300, the account has 100" in check.found
    assert check.fix.startswith("set quotas.rulesPerBus to 100")


def test_usage_plans_need_one_per_tier(session):
    apigateway = session.client("apigateway")
    for index in range(9):
        apigateway.create_usage_plan(name=f"plan-{index}")
    checks = run_checks(settings(), clients_with(session, service_quotas=service_quotas(
        {"plans": 10.0})))
    check = by_what(checks)["API Gateway usage plans"]
    assert check.status is Status.FAIL and "9 in use, 2 more for this stage" in check.found


def test_the_command_line_prints_one_line_per_finding_and_exits_non_zero(
        session, monkeypatch, capsys):
    spec = stage_spec("prod", account_id=ACCOUNT, region=REGION)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=spec.buckets["documents"].name,
        CreateBucketConfiguration={"LocationConstraint": REGION})
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    assert main(["--stack", "prod"], session=session) == 1
    out = capsys.readouterr().out
    assert out.startswith("preflight of stack prod (stage prod, eu-west-1)")
    assert f"FAIL  S3 bucket {spec.buckets['documents'].name}" in out
    assert "PASS  AWS account: 123456789012" in out
    assert out.rstrip().splitlines()[-1].startswith("preflight: ")


def test_a_missing_stack_file_is_named(capsys):
    assert main(["--stack", "nosuch"]) == 2
    assert "Pulumi.nosuch.yaml does not exist" in capsys.readouterr().err


def test_make_preflight_passes_stack_stage_and_region():
    printed = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", "preflight", "STACK=prod", "STAGE=prod2",
         "REGION=eu-west-2"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    assert "-m infra.cloud.preflight --stack prod --stage prod2 --region eu-west-2" in \
        " ".join(printed.split())
