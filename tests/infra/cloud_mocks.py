"""Pulumi mocks that record every resource, and a runner for the program of one stack.

`build_stack("dev")` runs `infra/cloud/__main__.py` under `pulumi.runtime.set_mocks` with the
committed `Pulumi.dev.yaml` (plus test values for the secrets, which the committed files
cannot hold) and returns what the program registered, inputs fully resolved: the same
JSON AWS would receive.
"""

from __future__ import annotations

import json
import runpy
import tempfile
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, Iterator

import pulumi
import yaml

from infra.cloud.config import PortalCallback, Quotas, StageConfig, UsageTier

REPO_ROOT = Path(__file__).resolve().parents[2]
PROGRAM = REPO_ROOT / "infra" / "cloud" / "__main__.py"
PROJECT = "partner-event-gateway"
ACCOUNT = "123456789012"
STACKS = ("dev", "prod")
TEST_SECRETS = {
    f"{PROJECT}:consoleSessionSecret": "test-session-secret-not-for-use",
    f"{PROJECT}:portalCallbackApiKey": "test-portal-callback-key",
}


# How the engine marks a secret value on the wire (pulumi.runtime.rpc).
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"


def unwrap_secrets(value: Any) -> tuple[Any, bool]:
    """(value without secret markers, whether any part of it was secret)."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
            return unwrap_secrets(value["value"])[0], True
        found = False
        result = {}
        for key, item in value.items():
            result[key], secret = unwrap_secrets(item)
            found = found or secret
        return result, found
    if isinstance(value, list):
        pairs = [unwrap_secrets(item) for item in value]
        return [item for item, _ in pairs], any(secret for _, secret in pairs)
    return value, False


@dataclass
class Recorded:
    """One registered resource: its type token, logical name, resolved inputs and state."""

    type: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)
    secret_inputs: frozenset[str] = frozenset()

    def json(self, key: str) -> Any:
        """An input holding a JSON document, parsed."""
        return json.loads(self.inputs[key])


class RecordingMocks(pulumi.runtime.Mocks):
    """Mocks returning plausible computed attributes (ARNs, URLs) and recording everything.

    The provider answers for `partition` (`aws`, `aws-cn`, `aws-us-gov`): every ARN it makes
    up, and `aws.get_partition`, use it.
    """

    def __init__(self, region: str, partition: str = "aws") -> None:
        self.region = region
        self.partition = partition
        self.resources: list[Recorded] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs: dict[str, Any] = {}
        secret_inputs = set()
        for key, value in args.inputs.items():
            inputs[key], secret = unwrap_secrets(value)
            if secret:
                secret_inputs.add(key)
        args.inputs = inputs
        name = args.inputs.get("name") or args.inputs.get("bucket") or args.name
        service = args.typ.split(":")[1].split("/")[0]
        p = self.partition
        arn = f"arn:{p}:{service}:{self.region}:{ACCOUNT}:{args.typ.rsplit(':', 1)[1]}/{name}"
        state = {"arn": arn, "id": f"{args.name}-id", **args.inputs}
        state.setdefault("name", name)
        if args.typ == "aws:lambda/function:Function":
            state["arn"] = f"arn:{p}:lambda:{self.region}:{ACCOUNT}:function:{name}"
            state["invoke_arn"] = (f"arn:{p}:apigateway:{self.region}:lambda:path/2015-03-31/"
                                   f"functions/{state['arn']}/invocations")
            state["invokeArn"] = state["invoke_arn"]
            # A function that publishes gets version 1 (Lambda numbers published versions).
            state["version"] = "1" if args.inputs.get("publish") else "$LATEST"
        elif args.typ == "aws:lambda/alias:Alias":
            function = args.inputs["functionName"]
            state["arn"] = f"arn:{p}:lambda:{self.region}:{ACCOUNT}:function:{function}:{name}"
            state["invoke_arn"] = (f"arn:{p}:apigateway:{self.region}:lambda:path/2015-03-31/"
                                   f"functions/{state['arn']}/invocations")
            state["invokeArn"] = state["invoke_arn"]
        elif args.typ == "aws:sqs/queue:Queue":
            state["arn"] = f"arn:{p}:sqs:{self.region}:{ACCOUNT}:{name}"
            state["url"] = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{name}"
        elif args.typ == "aws:dynamodb/table:Table":
            state["arn"] = f"arn:{p}:dynamodb:{self.region}:{ACCOUNT}:table/{name}"
            if args.inputs.get("streamEnabled"):
                state["streamArn"] = f"{state['arn']}/stream/2026-11-23T00:00:00.000"
        elif args.typ in ("aws:apigateway/restApi:RestApi", "aws:apigatewayv2/api:Api"):
            state["executionArn"] = f"arn:{p}:execute-api:{self.region}:{ACCOUNT}:{name}-id"
        elif args.typ in ("aws:apigateway/stage:Stage", "aws:apigatewayv2/stage:Stage"):
            state["invokeUrl"] = f"https://{args.name}.execute-api.{self.region}.amazonaws.com/"
        elif args.typ == "aws:sns/topic:Topic":
            state["arn"] = f"arn:{p}:sns:{self.region}:{ACCOUNT}:{name}"
        elif args.typ == "aws:iam/role:Role":
            state["arn"] = f"arn:{p}:iam::{ACCOUNT}:role/{name}"
        elif args.typ == "aws:s3/bucket:Bucket":
            state["arn"] = f"arn:{p}:s3:::{name}"
        elif args.typ == "aws:cloudwatch/eventRule:EventRule":
            bus = args.inputs.get("eventBusName", "default")
            state["arn"] = f"arn:{p}:events:{self.region}:{ACCOUNT}:rule/{bus}/{name}"
        elif args.typ == "aws:cloudwatch/eventBus:EventBus":
            state["arn"] = f"arn:{p}:events:{self.region}:{ACCOUNT}:event-bus/{name}"
        elif args.typ == "aws:cloudwatch/eventApiDestination:EventApiDestination":
            state["arn"] = (f"arn:{p}:events:{self.region}:{ACCOUNT}:api-destination/{name}/"
                            "0a1b2c3d-api-destination")
        elif args.typ == "aws:cloudwatch/eventConnection:EventConnection":
            state["arn"] = (f"arn:{p}:events:{self.region}:{ACCOUNT}:connection/{name}/"
                            "0a1b2c3d-connection")
        elif args.typ == "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream":
            state["arn"] = f"arn:{p}:firehose:{self.region}:{ACCOUNT}:deliverystream/{name}"
        elif args.typ == "aws:cloudwatch/logGroup:LogGroup":
            state["arn"] = f"arn:{p}:logs:{self.region}:{ACCOUNT}:log-group:{name}"
        elif args.typ == "aws:cognito/userPool:UserPool":
            state["arn"] = (f"arn:{p}:cognito-idp:{self.region}:{ACCOUNT}:userpool/"
                            f"{args.name}-id")
        elif args.typ == "aws:secretsmanager/secret:Secret":
            state["arn"] = f"arn:{p}:secretsmanager:{self.region}:{ACCOUNT}:secret:{name}-AbCdEf"
        elif args.typ == "aws:kms/key:Key":
            state["keyId"] = f"{args.name}-key-id"
            state["arn"] = f"arn:{p}:kms:{self.region}:{ACCOUNT}:key/{state['keyId']}"
        self.resources.append(Recorded(args.typ, args.name, dict(inputs), state,
                                       frozenset(secret_inputs)))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:{self.partition}:iam::{ACCOUNT}:user/test",
                    "userId": "AIDTEST", "id": ACCOUNT}
        if args.token == "aws:index/getPartition:getPartition":
            suffix = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
            return {"partition": self.partition, "id": self.partition, "dnsSuffix": suffix,
                    "reverseDnsPrefix": ".".join(reversed(suffix.split(".")))}
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region,
                    "description": self.region, "endpoint": f"ec2.{self.region}.amazonaws.com"}
        return {}


@dataclass
class StackResources:
    """What one stack's program registered."""

    stack: str
    config: dict[str, Any]
    resources: list[Recorded]

    def of_type(self, type_token: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str) -> Recorded:
        found = [r for r in self.of_type(type_token)
                 if name in (r.inputs.get("name"), r.inputs.get("bucket"), r.name)]
        assert len(found) == 1, f"{type_token} {name}: found {len(found)}"
        return found[0]

    def policies(self) -> Iterator[tuple[Recorded, dict[str, Any]]]:
        """Every IAM identity policy document (inline role policies and managed policies)."""
        for resource in self.resources:
            if resource.type in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
                yield resource, resource.json("policy")


def stack_config(stack: str) -> dict[str, Any]:
    """The committed `config:` of `Pulumi.<stack>.yaml`."""
    return yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]


def pulumi_config(values: dict[str, Any]) -> dict[str, str]:
    """Stack config as Pulumi's runtime holds it: strings, objects as JSON."""
    return {key: value if isinstance(value, str) else json.dumps(value)
            for key, value in values.items()}


@cache
def lambda_archive() -> str:
    """The project's Lambda archive (code only), built once per test session."""
    from infra.build_lambda import build

    output = Path(tempfile.mkdtemp(prefix="pgw-lambda-")) / "lambda.zip"
    return str(build(output).path)


def build_stack(stack: str, *, overrides: dict[str, Any] | None = None,
                secrets: dict[str, str] | None = None, partition: str = "aws") -> StackResources:
    """Run the program for `stack` under mocks (the provider in `partition`); returns every
    registered resource."""
    config = {**stack_config(stack), f"{PROJECT}:lambdaArchive": lambda_archive(),
              **(overrides or {})}
    mocks = RecordingMocks(config["aws:region"], partition)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    secret_values = TEST_SECRETS if secrets is None else secrets
    pulumi.runtime.set_all_config({**pulumi_config(config), **secret_values},
                                  list(secret_values))

    @pulumi.runtime.test
    def run() -> None:
        runpy.run_path(str(PROGRAM), run_name="__main__")

    run()
    return StackResources(stack, config, mocks.resources)


# --- stage settings ----------------------------------------------------------------------------

LAYER = "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27"


def stage_config(**changes: Any) -> StageConfig:
    """A valid dev stage's settings, with `changes` applied."""
    config = StageConfig(
        stage="dev", region="eu-west-1", partner_environments=("prod", "test"),
        allow_insecure_endpoints=False, quotas=Quotas(), archive_retention_days=14,
        log_retention_days=14, alarm_email="ops@example.com",
        usage_tiers=(UsageTier("standard", 10, 20, 1000),), default_usage_tier="standard",
        api_rate_limit=100, api_burst_limit=200,
        portal_callback=PortalCallback("https://portal.example.com/hook"),
        powertools_layer_arn=LAYER, lambda_archive="build/lambda.zip",
        reconcile_schedule="rate(5 minutes)", deep_reconcile_schedule="rate(1 hour)",
        sms_monthly_spend_limit=1, sms_sender_id=None,
        datalake_transition_days=90, protect_data=False, manage_account_settings=False,
        console_session_secret=None, portal_callback_api_key=None)
    return replace(config, **changes)
