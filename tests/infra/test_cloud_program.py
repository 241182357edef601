"""The Pulumi program of each committed stack, run under mocks: what it would deploy."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from infra.roles import APPEND_ONLY_TABLES, TABLE_ACCESS, WILDCARD_RESOURCE_ACTIONS
from infra.policy.rules import RESOURCE_RULES, STACK_RULES, Resource
from infra.spec import StageSpec, stage_spec
from partners.core.constants import Env
from partners.core.contracts import SCHEMAS
from tests.infra.cloud_mocks import (
    ACCOUNT,
    PROJECT,
    REPO_ROOT,
    STACKS,
    StackResources,
    build_stack,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
COMPONENTS = {"AccountSettings", "Storage", "Notifications", "Identity", "EventBus", "Functions",
              "PartnerApi", "PortalApi", "Subscriptions", "Reconciler", "Console",
              "Observability", "StageFunction", "ConsoleSessionKey", "DeliveryLog"}


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> StackResources:
    return build_stack(request.param)


@pytest.fixture
def spec(stack: StackResources) -> StageSpec:
    return stage_spec(stack.stack, stack.config["partner-event-gateway:partnerEnvironments"],
                      account_id=ACCOUNT, region=stack.config["aws:region"])


def setting(stack: StackResources, key: str) -> Any:
    return stack.config[f"partner-event-gateway:{key}"]


def function(stack: StackResources, spec: StageSpec, logical: str) -> Any:
    return stack.one(FUNCTION, spec.functions[logical].name)


def entry(stack: StackResources, spec: StageSpec, logical: str) -> Any:
    """What callers invoke: a request-path function's live alias (SnapStart), else itself."""
    if not spec.functions[logical].snap_start:
        return function(stack, spec, logical)
    (alias,) = [a for a in stack.of_type("aws:lambda/alias:Alias")
                if a.inputs["functionName"] == spec.functions[logical].name]
    return alias


def role_policy_of(stack: StackResources, function_resource: Any) -> dict[str, Any]:
    """The inline policy of a function's role (roles are named `<function>-fn`)."""
    role_name = function_resource.inputs["role"].rsplit("/", 1)[1]
    role = stack.one("aws:iam/role:Role", role_name)
    policies = [p for p in stack.of_type(ROLE_POLICY) if p.inputs["role"] == role.state["id"]]
    assert len(policies) == 1
    return policies[0].json("policy")


def test_every_component_is_built(stack: StackResources) -> None:
    built = {r.type.rsplit(":", 1)[1] for r in stack.resources if r.type.startswith("pgw:")}
    assert built == COMPONENTS


# --- Storage -------------------------------------------------------------------------------

def test_tables_follow_the_spec(stack: StackResources, spec: StageSpec) -> None:
    tables = stack.of_type("aws:dynamodb/table:Table")
    assert sorted(t.inputs["name"] for t in tables) == sorted(t.name for t in spec.tables.values())
    for table_spec in spec.tables.values():
        table = stack.one("aws:dynamodb/table:Table", table_spec.name)
        assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
        assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
        assert table.inputs["serverSideEncryption"]["enabled"] is True
        assert table.inputs["hashKey"] == table_spec.hash_key.name
        assert table.inputs.get("streamEnabled", False) == bool(table_spec.stream)
        assert table.inputs.get("streamViewType") == table_spec.stream
        if table_spec.ttl_attribute:
            assert table.inputs["ttl"] == {"attributeName": table_spec.ttl_attribute,
                                           "enabled": True}
        else:
            assert "ttl" not in table.inputs
        indexes = {i["name"] for i in table.inputs.get("globalSecondaryIndexes", [])}
        assert indexes == {i.name for i in table_spec.indexes}


def test_prod_data_is_protected_from_deletion(stack: StackResources) -> None:
    protected = setting(stack, "protectData")
    for table in stack.of_type("aws:dynamodb/table:Table"):
        assert table.inputs.get("deletionProtectionEnabled", False) is protected
    for bucket in stack.of_type("aws:s3/bucket:Bucket"):
        assert bucket.inputs["forceDestroy"] is (not protected)
    (pool,) = stack.of_type("aws:cognito/userPool:UserPool")
    assert pool.inputs["deletionProtection"] == ("ACTIVE" if protected else "INACTIVE")
    assert stack.stack != "prod" or protected


def test_buckets_are_private_encrypted_tls_only_with_lifecycles(stack: StackResources,
                                                                 spec: StageSpec) -> None:
    for bucket_spec in spec.buckets.values():
        bucket = stack.one("aws:s3/bucket:Bucket", bucket_spec.name)
        bucket_id = bucket.state["id"]

        def attached(type_token: str) -> Any:
            found = [r for r in stack.of_type(type_token) if r.inputs["bucket"] == bucket_id]
            assert len(found) == 1, type_token
            return found[0]

        block = attached("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
        assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy",
                                              "ignorePublicAcls", "restrictPublicBuckets"))
        encryption = attached("aws:s3/bucketServerSideEncryptionConfiguration:"
                              "BucketServerSideEncryptionConfiguration").inputs
        assert encryption["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] \
            == "aws:kms"
        policy = attached("aws:s3/bucketPolicy:BucketPolicy").json("policy")
        deny = policy["Statement"][0]
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert set(deny["Resource"]) == {bucket.state["arn"], bucket.state["arn"] + "/*"}
        rules = {r["id"]: r for r in attached(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]}
        assert "abort-incomplete-uploads" in rules
        if bucket_spec.expire_after_days:
            assert rules["expire-objects"]["expiration"]["days"] == bucket_spec.expire_after_days
        else:
            assert rules["archive-objects"]["transitions"][0]["days"] == \
                setting(stack, "datalakeTransitionDays")


def test_queues_and_topics_are_encrypted(stack: StackResources, spec: StageSpec) -> None:
    queues = stack.of_type("aws:sqs/queue:Queue")
    assert sorted(q.inputs["name"] for q in queues) == sorted(q.name for q in spec.queues.values())
    assert all(q.inputs["sqsManagedSseEnabled"] is True for q in queues)
    key = stack.of_type("aws:kms/key:Key")[0]
    assert key.inputs["enableKeyRotation"] is True
    grants = {s["Sid"]: s for s in key.json("policy")["Statement"]}
    assert grants["AccountAdministers"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    # CloudWatch alarms publish to the encrypted alarm topic, for this account's alarms only
    # (no rule of the stage targets a topic, so EventBridge is not granted).
    services = grants["ServicesPublishToEncryptedTopics"]
    assert services["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert services["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert services["Condition"]["ArnLike"] == {"aws:SourceArn": (
        f"arn:aws:cloudwatch:{stack.config['aws:region']}:{ACCOUNT}:alarm:{spec.prefix}-*")}
    for topic in stack.of_type("aws:sns/topic:Topic"):
        assert topic.inputs["kmsMasterKeyId"] == key.state["arn"]


# --- Functions -----------------------------------------------------------------------------

def test_one_function_per_spec_entry(stack: StackResources, spec: StageSpec) -> None:
    functions = stack.of_type(FUNCTION)
    assert sorted(f.inputs["name"] for f in functions) == \
        sorted(f.name for f in spec.functions.values())
    layer = setting(stack, "powertoolsLayerArn")
    for function_spec in spec.functions.values():
        deployed = stack.one(FUNCTION, function_spec.name).inputs
        assert deployed["handler"] == function_spec.handler
        assert deployed["timeout"] == function_spec.timeout_seconds
        assert deployed["memorySize"] == function_spec.memory_mb
        assert deployed["layers"] == [layer]
        assert deployed["tracingConfig"] == {"mode": "Active"}
        assert deployed["loggingConfig"]["logGroup"] == f"/aws/lambda/{function_spec.name}"
        assert deployed["code"].path.endswith("lambda.zip")


def test_every_log_group_expires(stack: StackResources, spec: StageSpec) -> None:
    groups = {g.inputs["name"]: g.inputs["retentionInDays"]
              for g in stack.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert all(days == setting(stack, "logRetentionDays") for days in groups.values())
    for function_spec in spec.functions.values():
        assert f"/aws/lambda/{function_spec.name}" in groups


def test_every_function_environment_names_its_tables(stack: StackResources,
                                                     spec: StageSpec) -> None:
    for function_spec in spec.functions.values():
        variables = stack.one(FUNCTION, function_spec.name).inputs["environment"]["variables"]
        for logical in function_spec.tables:
            table = spec.tables[logical]
            assert variables[table.env_var] == table.name
        assert variables[Env.BUS_NAME] == spec.bus_name
        assert variables[Env.RESOURCE_PREFIX] == spec.partner_resource_prefix
        assert variables[Env.PARTNER_ENVIRONMENTS] == ",".join(spec.partner_environments)
        assert variables[Env.NOTIFICATIONS_TOPIC_ARN].endswith(f":{spec.prefix}-notifications")
        assert variables[Env.ALLOW_INSECURE_ENDPOINTS] == (
            "true" if setting(stack, "allowInsecureEndpoints") else "false")
        assert variables.get(Env.SMS_SENDER_ID) == setting(stack, "sms").get("senderId")
        assert variables[Env.ARCHIVE_NAME] == spec.archive_name


def test_prod_never_allows_insecure_endpoints(stack: StackResources) -> None:
    if stack.stack == "prod":
        assert setting(stack, "allowInsecureEndpoints") is False
        for deployed in stack.of_type(FUNCTION):
            assert deployed.inputs["environment"]["variables"][
                Env.ALLOW_INSECURE_ENDPOINTS] == "false"


def test_reconciler_and_console_get_their_wiring(stack: StackResources, spec: StageSpec) -> None:
    recorder = function(stack, spec, "routing_recorder")
    reconciler = function(stack, spec, "reconciler").inputs["environment"]["variables"]
    default_plan = stack.one("aws:apigateway/usagePlan:UsagePlan", spec.usage_plan_name)
    assert reconciler[Env.ROUTING_RECORDER_ARN] == recorder.state["arn"]
    assert reconciler[Env.USAGE_PLAN_ID] == default_plan.state["id"]
    assert reconciler[Env.ROUTING_DLQ_ARN].endswith(f":{spec.queues['routing_dlq'].name}")
    delivery = stack.one("aws:iam/role:Role", f"{spec.prefix}-partner-delivery")
    assert reconciler[Env.DELIVERY_ROLE_ARN] == delivery.state["arn"]
    assert reconciler[Env.RULE_QUOTA] == str(setting(stack, "quotas")["rulesPerBus"])
    console = function(stack, spec, "console").inputs["environment"]["variables"]
    pool = stack.of_type("aws:cognito/userPool:UserPool")[0]
    client = stack.of_type("aws:cognito/userPoolClient:UserPoolClient")[0]
    assert console[Env.USER_POOL_ID] == pool.state["id"]
    assert console[Env.USER_POOL_CLIENT_ID] == client.state["id"]
    assert console[Env.RECONCILER_FUNCTION] == spec.functions["reconciler"].name
    # The session key's secret, never the key itself (console/secret_key.py reads it).
    secret = stack.one("aws:secretsmanager/secret:Secret", spec.console_session_secret_name)
    assert console[Env.CONSOLE_SESSION_SECRET] == secret.state["arn"]
    assert "FLASK_SECRET_KEY" not in console
    assert "test-session-secret-not-for-use" not in json.dumps(console)


def test_console_may_flush_the_partner_apis_authorizer_cache_and_nothing_more(
        stack: StackResources, spec: StageSpec) -> None:
    console = function(stack, spec, "console")
    api = stack.one("aws:apigateway/restApi:RestApi", f"{spec.prefix}-partner-api")
    variables = console.inputs["environment"]["variables"]
    assert variables[Env.PARTNER_API_ID] == api.state["id"]
    assert variables[Env.PARTNER_API_STAGE] == spec.stage
    by_sid = {s["Sid"]: s for s in role_policy_of(stack, console)["Statement"] if "Sid" in s}
    flush = by_sid["FlushAuthorizerCache"]
    assert flush["Action"] in ("apigateway:DELETE", ["apigateway:DELETE"])
    region = stack.config["aws:region"]
    assert flush["Resource"] in (
        f"arn:aws:apigateway:{region}::/restapis/{api.state['id']}/stages/{spec.stage}"
        "/cache/authorizers",
        [f"arn:aws:apigateway:{region}::/restapis/{api.state['id']}/stages/{spec.stage}"
         "/cache/authorizers"])
    deletes = [s for s in by_sid.values() if "apigateway:DELETE" in s["Action"]]
    assert deletes == [flush]


def test_the_console_emails_invitations_from_the_stages_sender_only(
        stack: StackResources, spec: StageSpec) -> None:
    """A stage with `cognitoEmail` (prod) gives the console its `fromAddress` as the sender
    and `ses:SendEmail` from that address on its identity
    (https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html); a stage without
    (dev) sets no sender and grants no SES action (the console shows the link instead)."""
    console = function(stack, spec, "console")
    variables = console.inputs["environment"]["variables"]
    statements = role_policy_of(stack, console)["Statement"]
    sending = [s for s in statements if any(a.startswith("ses:") for a in s["Action"])]
    email = stack.config.get(f"{PROJECT}:cognitoEmail")
    if email is None:
        assert Env.MAIL_SENDER not in variables
        assert sending == []
        return
    assert variables[Env.MAIL_SENDER] == email["fromAddress"]
    address = email["fromAddress"].rsplit("<", 1)[-1].rstrip(">")
    assert sending == [{"Sid": "InvitationMail", "Effect": "Allow", "Action": ["ses:SendEmail"],
                        "Resource": [email["sesIdentityArn"]],
                        "Condition": {"StringEquals": {"ses:FromAddress": address}}}]
    others = [f for f in stack.of_type(FUNCTION) if f is not console]
    assert all(Env.MAIL_SENDER not in (f.inputs.get("environment") or {}).get("variables", {})
               for f in others)


def test_secrets_stay_secret_in_the_state(stack: StackResources, spec: StageSpec) -> None:
    # The session key is in Secrets Manager, a secret in the state; no function's
    # environment holds a secret any more.
    (version,) = stack.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert "secretString" in version.secret_inputs
    assert version.inputs["secretString"] == "test-session-secret-not-for-use"
    assert "environment" not in function(stack, spec, "console").secret_inputs
    assert "environment" not in function(stack, spec, "partner_api").secret_inputs
    (connection,) = stack.of_type("aws:cloudwatch/eventConnection:EventConnection")
    assert "authParameters" in connection.secret_inputs
    assert connection.inputs["authParameters"]["apiKey"]["value"] == "test-portal-callback-key"


def test_async_invocations_fail_into_a_queue(stack: StackResources, spec: StageSpec) -> None:
    failures = stack.one("aws:sqs/queue:Queue", spec.queues["async_failures"].name).state["arn"]
    configs = {c.inputs["functionName"]: c.inputs for c in stack.of_type(
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")}
    assert set(configs) == {f.name for f in spec.functions.values()}
    for config in configs.values():
        assert config["destinationConfig"]["onFailure"]["destination"] == failures
    mappings = {m.inputs["functionName"]: m.inputs
                for m in stack.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")}
    log = stack.one("aws:dynamodb/table:Table", spec.tables["request_events"].name).state["arn"]
    projector = mappings[function(stack, spec, "projector").state["arn"]]
    assert projector["eventSourceArn"].startswith(log)
    assert projector["startingPosition"] == "TRIM_HORIZON" and "filterCriteria" not in projector
    assert projector["destinationConfig"]["onFailure"]["destinationArn"] == failures
    schedules = {s.inputs["name"]: s.inputs
                 for s in stack.of_type("aws:scheduler/schedule:Schedule")}
    assert set(schedules) == {f"{spec.prefix}-reconcile-all", f"{spec.prefix}-reconcile-deep"}
    for schedule in schedules.values():
        assert schedule["target"]["deadLetterConfig"]["arn"] == failures
        assert schedule["target"]["arn"] == function(stack, spec, "reconciler").state["arn"]
    full = schedules[f"{spec.prefix}-reconcile-all"]
    assert full["scheduleExpression"] == setting(stack, "reconcileSchedule")
    assert "partner_id" not in json.loads(full["target"]["input"])
    deep = schedules[f"{spec.prefix}-reconcile-deep"]
    assert json.loads(deep["target"]["input"])["resync"] == "deep"


def test_the_notifier_reads_status_changes_from_the_request_log_stream(
        stack: StackResources, spec: StageSpec) -> None:
    mappings = {m.inputs["functionName"]: m.inputs
                for m in stack.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")}
    notifier = mappings[function(stack, spec, "notifier").state["arn"]]
    log = stack.one("aws:dynamodb/table:Table", spec.tables["request_events"].name).state["arn"]
    dlq = stack.one("aws:sqs/queue:Queue", spec.queues["notifier_dlq"].name).state["arn"]
    assert notifier["eventSourceArn"].startswith(log)
    assert notifier["startingPosition"] == "LATEST"
    assert json.loads(notifier["filterCriteria"]["filters"][0]["pattern"]) == {
        "eventName": ["INSERT"],
        "dynamodb": {"NewImage": {"type": {"S": ["request.status_changed"]}}}}
    assert notifier["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert notifier["destinationConfig"]["onFailure"]["destinationArn"] == dlq
    assert notifier["maximumRecordAgeInSeconds"] == 6 * 3600
    # The mapping writes failures with the function's role: it may send to that queue.
    policy = role_policy_of(stack, function(stack, spec, "notifier"))
    sends = [s for s in policy["Statement"] if s["Action"] == ["sqs:SendMessage"]]
    assert any(s["Resource"] == [dlq] for s in sends)
    # No bus rule feeds it any more.
    assert f"{spec.prefix}-notifier" not in {
        r.inputs["name"] for r in stack.of_type("aws:cloudwatch/eventRule:EventRule")}


def test_every_rule_target_has_a_dlq_and_retry_policy(stack: StackResources,
                                                      spec: StageSpec) -> None:
    targets = {t.inputs["targetId"]: t.inputs
               for t in stack.of_type("aws:cloudwatch/eventTarget:EventTarget")}
    assert set(targets) == {"datalake", "portal"}
    dlq = {q.inputs["name"]: q.state["arn"] for q in stack.of_type("aws:sqs/queue:Queue")}
    expected = {"datalake": "async_failures", "portal": "portal_callback_dlq"}
    for target_id, queue in expected.items():
        assert targets[target_id]["deadLetterConfig"]["arn"] == dlq[spec.queues[queue].name]
        assert targets[target_id]["retryPolicy"]["maximumRetryAttempts"] > 0


def test_dead_letter_queues_accept_only_their_rules(stack: StackResources,
                                                    spec: StageSpec) -> None:
    region = stack.config["aws:region"]
    policies = {p.inputs["queueUrl"].rsplit("/", 1)[1]: p.json("policy")
                for p in stack.of_type("aws:sqs/queuePolicy:QueuePolicy")}
    # The notifier's on-failure queue is written by the notifier's own role, not EventBridge.
    assert set(policies) == {q.name for q in spec.queues.values()} - {
        spec.queues["notifier_dlq"].name}
    routing = policies[spec.queues["routing_dlq"].name]["Statement"][0]
    assert routing["Principal"] == {"Service": "events.amazonaws.com"}
    assert routing["Condition"]["ArnLike"]["aws:SourceArn"] == [
        f"arn:aws:events:{region}:{ACCOUNT}:rule/{spec.bus_name}/{spec.partner_resource_prefix}*"]


def test_eventbridge_may_invoke_the_routing_recorder_from_partner_rules_only(
        stack: StackResources, spec: StageSpec) -> None:
    region = stack.config["aws:region"]
    permissions = [p.inputs for p in stack.of_type("aws:lambda/permission:Permission")
                   if p.inputs["principal"] == "events.amazonaws.com"]
    recorder = [p for p in permissions
                if p["function"] == spec.functions["routing_recorder"].name]
    assert len(recorder) == 1
    assert recorder[0]["sourceArn"] == (
        f"arn:aws:events:{region}:{ACCOUNT}:rule/{spec.bus_name}/{spec.partner_resource_prefix}*")
    assert recorder[0]["sourceAccount"] == ACCOUNT


# --- IAM -----------------------------------------------------------------------------------

def test_every_arn_follows_the_providers_partition() -> None:
    """A stage in China (or GovCloud) names its own partition in every ARN it deploys: the
    partition comes from the provider (`aws.get_partition`), never a literal `arn:aws:`.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html"""
    layer = ("arn:aws-cn:lambda:cn-north-1:123456789012:layer:"
             "AWSLambdaPowertoolsPythonV3-python312-x86_64:27")
    china = build_stack("dev", partition="aws-cn", overrides={
        "aws:region": "cn-north-1", f"{PROJECT}:powertoolsLayerArn": layer})
    text = json.dumps([resource.inputs for resource in china.resources], default=str)
    assert "arn:aws:" not in text
    assert text.count("arn:aws-cn:") > 100
    documents = [document for _, document in china.policies()]
    documents += [role.json("assumeRolePolicy") for role in china.of_type("aws:iam/role:Role")]
    assert all(arn.startswith("arn:aws-cn:") for arn in _arns(documents))


def _arns(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.startswith("arn:") else []
    if isinstance(value, dict):
        return [arn for item in value.values() for arn in _arns(item)]
    if isinstance(value, list):
        return [arn for item in value for arn in _arns(item)]
    return []


def test_no_arn_of_the_program_is_written_for_one_partition() -> None:
    """Every ARN in `infra/cloud` is built from the provider's partition."""
    found = []
    for path in sorted((REPO_ROOT / "infra" / "cloud").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and "arn:aws:" in node.value:
                found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert found == []


def test_no_wildcard_action_and_no_data_plane_wildcard_resource(stack: StackResources) -> None:
    checked = 0
    for resource, document in stack.policies():
        for statement in document["Statement"]:
            actions = statement["Action"]
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), resource.name
            if statement["Effect"] == "Allow" and "*" in statement["Resource"]:
                assert set(actions) <= set(WILDCARD_RESOURCE_ACTIONS), (resource.name, actions)
            checked += 1
    assert checked > 40


def test_roles_trust_one_service_of_this_account(stack: StackResources) -> None:
    for role in stack.of_type("aws:iam/role:Role"):
        (trust,) = role.json("assumeRolePolicy")["Statement"]
        assert trust["Action"] == "sts:AssumeRole"
        assert isinstance(trust["Principal"]["Service"], str)
        assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT


@pytest.mark.parametrize("logical", sorted(TABLE_ACCESS))
def test_function_policies_name_exactly_their_tables(stack: StackResources, spec: StageSpec,
                                                     logical: str) -> None:
    document = role_policy_of(stack, function(stack, spec, logical))
    table_arns = {stack.one("aws:dynamodb/table:Table", t.name).state["arn"]: t.logical
                  for t in spec.tables.values()}
    reached: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        for resource in statement.get("Resource", []):
            table = table_arns.get(resource.split("/index/")[0])
            if table and "/stream/" not in resource:
                reached.setdefault(table, set()).update(statement["Action"])
    assert set(reached) == set(spec.functions[logical].tables)
    for table, actions in reached.items():
        if table in APPEND_ONLY_TABLES:
            assert not {"dynamodb:UpdateItem", "dynamodb:DeleteItem"} & actions


def test_reconciler_manages_only_prefixed_resources(stack: StackResources,
                                                    spec: StageSpec) -> None:
    document = role_policy_of(stack, function(stack, spec, "reconciler"))
    by_sid = {s["Sid"]: s for s in document["Statement"] if "Sid" in s}
    prefix = spec.partner_resource_prefix
    assert by_sid["PartnerRules"]["Resource"][0].endswith(f":rule/{spec.bus_name}/{prefix}*")
    assert by_sid["PartnerConnections"]["Resource"][0].endswith(f":connection/{prefix}*")
    assert by_sid["PartnerDestinations"]["Resource"][0].endswith(f":api-destination/{prefix}*")
    assert by_sid["PartnerDeadLetterQueues"]["Resource"][0].endswith(f":{prefix}*")
    assert by_sid["ReadEndpointCredentials"]["Resource"][0].endswith(
        f":secret:pgw/{spec.stage}/partners/*")
    delivery = stack.one("aws:iam/role:Role", f"{spec.prefix}-partner-delivery")
    assert by_sid["PassDeliveryRole"]["Resource"] == [delivery.state["arn"]]
    assert by_sid["PassDeliveryRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "events.amazonaws.com"}}
    passes = [s for s in document["Statement"] if "iam:PassRole" in s["Action"]]
    assert len(passes) == 1
    bus = stack.one("aws:cloudwatch/eventBus:EventBus", spec.bus_name).state["arn"]
    assert by_sid["PartnerEvents"]["Resource"] == [bus]


# --- SnapStart on the request path ---------------------------------------------------------

REQUEST_PATH = ("partner_api", "authorizer", "portal_api", "console")


def test_request_path_functions_start_from_a_snapshot_of_a_published_version(
        stack: StackResources, spec: StageSpec) -> None:
    """SnapStart applies to published versions only, so each request-path function publishes
    one per deployment and is invoked through an alias of it, never $LATEST
    (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-activate.html)."""
    assert {f.logical for f in spec.functions.values() if f.snap_start} == set(REQUEST_PATH)
    for logical in spec.functions:
        resource = function(stack, spec, logical)
        snap = resource.inputs.get("snapStart")
        if logical in REQUEST_PATH:
            assert snap == {"applyOn": "PublishedVersions"} and resource.inputs["publish"]
            alias = entry(stack, spec, logical)
            assert alias.inputs["name"] == "live"
            assert alias.inputs["functionVersion"] == resource.state["version"] == "1"
        else:
            assert not snap and not resource.inputs.get("publish")


def test_api_gateway_may_invoke_the_live_alias_only(stack: StackResources,
                                                    spec: StageSpec) -> None:
    """A resource-based policy on an alias names the alias as its qualifier
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html)."""
    permissions = [p for p in stack.of_type("aws:lambda/permission:Permission")
                   if p.inputs["principal"] == "apigateway.amazonaws.com"]
    by_function = {p.inputs["function"]: p for p in permissions}
    for logical in REQUEST_PATH:
        assert by_function[spec.functions[logical].name].inputs["qualifier"] == "live"


# --- APIs ----------------------------------------------------------------------------------

def rest_api_body(stack: StackResources, name: str) -> dict[str, Any]:
    return stack.one("aws:apigateway/restApi:RestApi", name).json("body")


def test_every_partner_route_reaches_the_partner_api_function(stack: StackResources,
                                                             spec: StageSpec) -> None:
    from infra.cloud.openapi import partner_routes

    body = rest_api_body(stack, f"{spec.prefix}-partner-api")
    handler = entry(stack, spec, "partner_api").state["invoke_arn"]
    authorizer = entry(stack, spec, "authorizer").state["invoke_arn"]
    routes = {(r.method, r.path): r for r in partner_routes()}
    operations = {(m, p): op for p, item in body["paths"].items() for m, op in item.items()}
    assert set(operations) == set(routes)
    for key, operation in operations.items():
        assert operation["x-amazon-apigateway-integration"]["uri"] == handler
        assert operation["x-amazon-apigateway-integration"]["type"] == "aws_proxy"
        assert bool(operation["security"]) == routes[key].authorized
    assert operations[("get", "/v1/openapi.json")]["security"] == []
    scheme = body["components"]["securitySchemes"]["partnerToken"]
    assert scheme["x-amazon-apigateway-authorizer"]["authorizerUri"] == authorizer
    assert scheme["x-amazon-apigateway-authorizer"]["type"] == "request"
    assert body["x-amazon-apigateway-api-key-source"] == "AUTHORIZER"
    status = operations[("post", "/v1/requests/{request_id}/status")]
    assert {"name": "Idempotency-Key", "in": "header", "required": True,
            "schema": {"type": "string"}} in status["parameters"]
    api = stack.one("aws:apigateway/restApi:RestApi", f"{spec.prefix}-partner-api")
    assert api.inputs["apiKeySource"] == "AUTHORIZER"


def test_portal_routes_are_iam_authorised_and_reach_the_portal_function(
        stack: StackResources, spec: StageSpec) -> None:
    body = rest_api_body(stack, f"{spec.prefix}-portal-api")
    handler = entry(stack, spec, "portal_api").state["invoke_arn"]
    operations = [op for item in body["paths"].values() for op in item.values()]
    assert {p for p in body["paths"]} >= {"/v1/portal/requests",
                                          "/v1/portal/users/{user_id}/contact"}
    for operation in operations:
        assert operation["x-amazon-apigateway-auth"] == {"type": "AWS_IAM"}
        assert operation["x-amazon-apigateway-integration"]["uri"] == handler
    policy = stack.one("aws:iam/policy:Policy", f"{spec.prefix}-portal-invoke").json("policy")
    assert policy["Statement"][0]["Action"] == ["execute-api:Invoke"]


def test_console_http_api_reaches_the_console_function(stack: StackResources,
                                                       spec: StageSpec) -> None:
    (integration,) = stack.of_type("aws:apigatewayv2/integration:Integration")
    assert integration.inputs["integrationUri"] == entry(stack, spec, "console").state["arn"]
    (route,) = stack.of_type("aws:apigatewayv2/route:Route")
    assert route.inputs["routeKey"] == "$default"
    assert route.inputs["target"] == f"integrations/{integration.state['id']}"


def test_api_gateway_invokes_only_its_own_functions(stack: StackResources,
                                                    spec: StageSpec) -> None:
    permissions = {p.inputs["function"]: p.inputs["sourceArn"]
                   for p in stack.of_type("aws:lambda/permission:Permission")
                   if p.inputs["principal"] == "apigateway.amazonaws.com"}
    assert set(permissions) == {spec.functions[f].name for f in
                                ("partner_api", "authorizer", "portal_api", "console")}
    assert permissions[spec.functions["authorizer"].name].endswith("/authorizers/*")


def test_stages_log_access_and_throttle(stack: StackResources) -> None:
    for stage in stack.of_type("aws:apigateway/stage:Stage"):
        assert stage.inputs["accessLogSettings"]["destinationArn"]
        assert json.loads(stage.inputs["accessLogSettings"]["format"])["requestId"]
        assert stage.inputs["xrayTracingEnabled"] is True
    throttle = setting(stack, "apiThrottle")
    for method_settings in stack.of_type("aws:apigateway/methodSettings:MethodSettings"):
        settings = method_settings.inputs["settings"]
        assert settings["throttlingRateLimit"] == throttle["rateLimit"]
        assert settings["throttlingBurstLimit"] == throttle["burstLimit"]
    (http_stage,) = stack.of_type("aws:apigatewayv2/stage:Stage")
    assert http_stage.inputs["accessLogSettings"]["destinationArn"]
    assert http_stage.inputs["defaultRouteSettings"]["throttlingRateLimit"] == throttle["rateLimit"]


def test_usage_plans_per_tier(stack: StackResources, spec: StageSpec) -> None:
    tiers = setting(stack, "usageTiers")
    plans = {p.inputs["name"]: p.inputs
             for p in stack.of_type("aws:apigateway/usagePlan:UsagePlan")}
    default = setting(stack, "defaultUsageTier")
    expected = {(spec.usage_plan_name if t == default else f"{spec.usage_plan_name}-{t}"): t
                for t in tiers}
    assert set(plans) == set(expected)
    for name, tier in expected.items():
        assert plans[name]["throttleSettings"] == {"rateLimit": tiers[tier]["rateLimit"],
                                                   "burstLimit": tiers[tier]["burstLimit"]}
        assert plans[name]["quotaSettings"] == {"limit": tiers[tier]["quotaPerDay"],
                                                "period": "DAY"}
        assert plans[name]["apiStages"][0]["stage"] == spec.stage


# --- Bus, identity, observability ------------------------------------------------------------

def test_bus_archive_datalake_and_schemas(stack: StackResources, spec: StageSpec) -> None:
    archive = stack.one("aws:cloudwatch/eventArchive:EventArchive", spec.archive_name)
    assert archive.inputs["retentionDays"] == setting(stack, "archiveRetentionDays")
    rule = stack.one("aws:cloudwatch/eventRule:EventRule", f"{spec.prefix}-datalake")
    assert json.loads(rule.inputs["eventPattern"]) == {"source": [{"prefix": ""}]}
    assert rule.inputs["eventBusName"] == spec.bus_name
    (stream,) = stack.of_type("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")
    s3 = stream.inputs["extendedS3Configuration"]
    assert "detail_type=!{partitionKeyFromQuery:detail_type}" in s3["prefix"]
    assert "day=!{timestamp:dd}" in s3["prefix"]
    assert s3["bucketArn"] == f"arn:aws:s3:::{spec.buckets['datalake'].name}"
    schemas = stack.of_type("aws:schemas/schema:Schema")
    assert len(schemas) == len(SCHEMAS)
    for schema in schemas:
        content = schema.json("content")
        assert schema.inputs["type"] == "JSONSchemaDraft4"
        assert content["properties"]["detail-type"]["enum"][0] in SCHEMAS


def test_user_pool_groups_and_console_client(stack: StackResources, spec: StageSpec) -> None:
    assert spec.user_pool is not None
    pool = stack.one("aws:cognito/userPool:UserPool", spec.user_pool.name).inputs
    assert pool["passwordPolicy"]["minimumLength"] == spec.user_pool.password_minimum_length
    assert {g.inputs["name"] for g in stack.of_type("aws:cognito/userGroup:UserGroup")} == \
        {"admins", "partners"}
    client = stack.one("aws:cognito/userPoolClient:UserPoolClient", spec.user_pool.client_name)
    assert "ALLOW_USER_PASSWORD_AUTH" in client.inputs["explicitAuthFlows"]


def test_alarms_reach_the_alarm_email(stack: StackResources, spec: StageSpec) -> None:
    topic = stack.one("aws:sns/topic:Topic", f"{spec.prefix}-alarms")
    (subscription,) = stack.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["endpoint"] == setting(stack, "alarmEmail")
    alarms = {a.inputs["name"]: a.inputs for a in stack.of_type(
        "aws:cloudwatch/metricAlarm:MetricAlarm")}
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [topic.state["arn"]]
    dlq = alarms[f"{spec.prefix}-partner-dlq-not-empty"]["metricQueries"][0]["expression"]
    assert f"LIKE '{spec.partner_resource_prefix}%'" in dlq
    rate = alarms[f"{spec.prefix}-partner-api-5xx-rate"]["metricQueries"]
    assert any("errors / requests" in q.get("expression", "") for q in rate)
    errors = alarms[f"{spec.prefix}-reconciler-errors"]
    assert errors["dimensions"] == {"FunctionName": spec.functions["reconciler"].name}
    for queue in spec.queues.values():
        assert alarms[f"{spec.prefix}-{queue.logical.replace('_', '-')}-not-empty"][
            "dimensions"] == {"QueueName": queue.name}
    (dashboard,) = stack.of_type("aws:cloudwatch/dashboard:Dashboard")
    assert len(dashboard.json("dashboardBody")["widgets"]) >= 6


# --- The policy pack agrees ------------------------------------------------------------------

def test_the_policy_pack_passes_every_committed_stack(stack: StackResources) -> None:
    views = [Resource(r.type, r.state, urn=f"urn:pulumi:{stack.stack}::pgw::{r.type}::{r.name}",
                      name=r.name) for r in stack.resources]
    violations = [(name, v.name, message) for name, (_, check) in RESOURCE_RULES.items()
                  for v in views for message in check(v)]
    violations += [(name, v.name, message) for name, (_, check) in STACK_RULES.items()
                   for v, message in check(views)]
    assert violations == []


# --- Refusals ---------------------------------------------------------------------------------

def test_prod_refuses_insecure_endpoints_before_creating_anything() -> None:
    with pytest.raises(Exception, match="allowInsecureEndpoints must be false"):
        build_stack("prod", overrides={"partner-event-gateway:allowInsecureEndpoints": True})


def test_a_missing_archive_says_how_to_build_it(tmp_path: Any) -> None:
    with pytest.raises(Exception, match="make lambda-archive"):
        build_stack("dev", overrides={
            "partner-event-gateway:lambdaArchive": str(tmp_path / "missing.zip")})


def test_a_missing_secret_is_named() -> None:
    with pytest.raises(Exception, match="consoleSessionSecret"):
        build_stack("dev", secrets={})


def test_a_stage_can_leave_account_settings_to_another_stack() -> None:
    built = build_stack("dev", overrides={"partner-event-gateway:manageAccountSettings": False})
    assert not built.of_type("aws:sns/smsPreferences:SmsPreferences")
    assert not built.of_type("aws:apigateway/account:Account")


def test_console_reaches_its_sessions_table_by_key_only(stack: StackResources,
                                                        spec: StageSpec) -> None:
    """The console's sessions and login counters: exactly the item actions it calls."""
    document = role_policy_of(stack, function(stack, spec, "console"))
    arn = stack.one("aws:dynamodb/table:Table",
                    spec.tables["console_sessions"].name).state["arn"]
    granted = [s for s in document["Statement"]
               if any(r.split("/index/")[0] == arn for r in s["Resource"])]
    assert len(granted) == 1 and granted[0]["Resource"] == [arn]
    assert sorted(granted[0]["Action"]) == sorted([
        "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
        "dynamodb:DeleteItem"])
