"""Statements of the control-plane roles: the reconciler and the console.

The reconciler reaches only what it owns: rules on the stage's bus, connections, API
destinations and queues whose names start with the stage's partner prefix, the partners'
endpoint secrets (`pgw/<stage>/partners/*`), the usage-plan keys of the stage's default
plan, and `iam:PassRole` for the delivery role alone. The console writes partners' endpoint
credentials but never reads them back except for the admin's endpoint check, and redrives
only the partners' own dead-letter queues.
"""

from __future__ import annotations

from infra.roles import arns
from infra.roles.functions import base_statements
from infra.roles.statements import Statement, allow
from infra.roles.tables import table_statements

PARTNERS = "{partner_prefix}*"

RULE_ACTIONS = ("events:PutRule", "events:DeleteRule", "events:DescribeRule",
                "events:EnableRule", "events:DisableRule", "events:PutTargets",
                "events:RemoveTargets", "events:ListTargetsByRule", "events:TagResource",
                "events:UntagResource", "events:ListTagsForResource")
CONNECTION_ACTIONS = ("events:CreateConnection", "events:UpdateConnection",
                      "events:DeleteConnection", "events:DescribeConnection",
                      "events:DeauthorizeConnection")
# Authorised against the API destination AND its connection (Service Authorization
# Reference, EventBridge: both resource types are required), so they are granted on both.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
DESTINATION_CONNECTION_ACTIONS = ("events:CreateApiDestination", "events:UpdateApiDestination",
                                  "events:DescribeApiDestination")
DESTINATION_ACTIONS = ("events:DeleteApiDestination",)
QUEUE_ACTIONS = ("sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes",
                 "sqs:SetQueueAttributes", "sqs:GetQueueUrl", "sqs:TagQueue",
                 "sqs:ListQueueTags")
# EventBridge keeps a connection's credentials in a secret named `events!connection/<name>/..`
# that it creates with the caller's permissions.
CONNECTION_SECRET_ACTIONS = ("secretsmanager:CreateSecret", "secretsmanager:UpdateSecret",
                             "secretsmanager:DescribeSecret", "secretsmanager:DeleteSecret",
                             "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue")
API_DESTINATIONS_SERVICE = "apidestinations.events.amazonaws.com"
USAGE_KEY_ACTIONS = ("apigateway:GET", "apigateway:POST", "apigateway:PATCH",
                     "apigateway:DELETE")

COGNITO_ACTIONS = ("cognito-idp:DescribeUserPool", "cognito-idp:AdminGetUser",
                   "cognito-idp:AdminCreateUser", "cognito-idp:AdminAddUserToGroup",
                   "cognito-idp:AdminRemoveUserFromGroup", "cognito-idp:AdminListGroupsForUser",
                   "cognito-idp:AdminDisableUser", "cognito-idp:AdminEnableUser",
                   "cognito-idp:AdminUserGlobalSignOut", "cognito-idp:ListUsers",
                   "cognito-idp:ListUsersInGroup")
SECRET_WRITE_ACTIONS = ("secretsmanager:CreateSecret", "secretsmanager:DescribeSecret",
                        "secretsmanager:PutSecretValue", "secretsmanager:RestoreSecret",
                        "secretsmanager:DeleteSecret", "secretsmanager:TagResource")
DLQ_ACTIONS = ("sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ReceiveMessage",
               "sqs:ChangeMessageVisibility", "sqs:DeleteMessage")


def usage_plan_keys() -> list[str]:
    """API keys, and the keys of the stage's default usage plan."""
    return [arns.apigateway("/apikeys"), arns.apigateway("/apikeys/*"),
            arns.apigateway("/usageplans/{id[usage_plan]}/keys"),
            arns.apigateway("/usageplans/{id[usage_plan]}/keys/*")]


def reconciler_statements() -> list[Statement]:
    """The reconciler's EventBridge, SQS, Secrets Manager, usage-key and PassRole statements."""
    return [
        *base_statements("reconciler"),
        *table_statements("reconciler"),
        allow("PartnerRules", list(RULE_ACTIONS), arns.rules(PARTNERS)),
        allow("PartnerConnections", list(CONNECTION_ACTIONS), arns.connections(PARTNERS)),
        allow("PartnerDestinations", list(DESTINATION_CONNECTION_ACTIONS),
              [arns.api_destinations(PARTNERS), arns.connections(PARTNERS)]),
        allow("DeletePartnerDestinations", list(DESTINATION_ACTIONS),
              arns.api_destinations(PARTNERS)),
        # List actions have no resource types in EventBridge and SQS.
        allow("FindOwnedResources", ["events:ListRules", "events:ListConnections",
                                     "events:ListApiDestinations", "sqs:ListQueues"], "*"),
        allow("PartnerDeadLetterQueues", list(QUEUE_ACTIONS), arns.queue_pattern(PARTNERS)),
        allow("ReadEndpointCredentials",
              ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
              arns.secrets("{secret_prefix}*")),
        # Credential versions go into the config hash; ListSecrets has no resource types.
        allow("FindEndpointCredentials", "secretsmanager:ListSecrets", "*"),
        allow("ConnectionSecrets", list(CONNECTION_SECRET_ACTIONS),
              arns.secrets(f"events!connection/{PARTNERS}")),
        allow("UsagePlanKeys", list(USAGE_KEY_ACTIONS), usage_plan_keys()),
        # Usage keys are created with their ownership tags (tag-on-create).
        allow("UsageKeyTags", ["apigateway:PUT", "apigateway:DELETE"],
              arns.apigateway("/tags/*")),
        allow("PassDeliveryRole", "iam:PassRole", arns.role("partner_delivery"),
              condition={"StringEquals": {"iam:PassedToService": "events.amazonaws.com"}}),
        # It announces `Partner Environment Changed` when an environment's routing changes.
        allow("PartnerEvents", "events:PutEvents", arns.bus()),
        # Endpoint alerts (partners/routing/endpoint_alerts.py): the organisation's contact
        # address is an email subscription (filtered by partner id) to the stage's topic.
        allow("EndpointAlerts", ["sns:Publish", "sns:Subscribe"], arns.topic("notifications")),
        # Unsubscribe has no resource types (Service Authorization Reference, SNS): only "*"
        # grants it.
        allow("EndpointAlertUnsubscribe", "sns:Unsubscribe", "*"),
        allow("EncryptedAlertTopic", ["kms:GenerateDataKey", "kms:Decrypt"], arns.topics_key()),
        # EventBridge creates its API destinations' service-linked role with the permissions
        # of whoever creates a connection, if the account lacks it (a stage whose own portal
        # callback connection was created by the deployer already has it).
        # https://docs.aws.amazon.com/eventbridge/latest/userguide/using-service-linked-roles-service-action-1.html
        allow("ApiDestinationsServiceLinkedRole", "iam:CreateServiceLinkedRole",
              arns.arn("iam", f"role/aws-service-role/{API_DESTINATIONS_SERVICE}/"
                              "AWSServiceRoleForAmazonEventBridgeApiDestinations", region=""),
              condition={"StringEquals": {"iam:AWSServiceName": API_DESTINATIONS_SERVICE}}),
    ]


def mail_statements() -> list[Statement]:
    """The console's invitation emails (`partners/onboarding/mail.py`, SES `SendEmail`): from
    the stage's sender alone, as its verified identity. `ses:FromAddress` is a condition key
    of SendEmail (Service Authorization Reference, SES; SES guide "Identity and access
    management": https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html)."""
    return [allow("InvitationMail", "ses:SendEmail", "{mail[identity]}",
                  condition={"StringEquals": {"ses:FromAddress": "{mail[address]}"}})]


def console_statements(*, sends_mail: bool = False) -> list[Statement]:
    """Registry, tokens, audit; Cognito users; the reconcile trigger; partners' endpoint
    secrets (write, and read for the endpoint check); partners' DLQs; test events; usage
    figures; the partner API's authorizer cache (flushed on revoke, rotate and suspend);
    its own Flask secret key; invitation emails where the stage `sends_mail`."""
    endpoint_secrets = arns.secrets("{secret_prefix}*")
    return [
        *base_statements("console"),
        *table_statements("console"),
        allow("ConsoleUsers", list(COGNITO_ACTIONS), arns.user_pool()),
        allow("TriggerReconcile", "lambda:InvokeFunction", arns.function("reconciler")),
        allow("WriteEndpointCredentials", list(SECRET_WRITE_ACTIONS), endpoint_secrets),
        allow("RedrivePartnerDeadLetters", list(DLQ_ACTIONS), arns.queue_pattern(PARTNERS)),
        allow("TestEventsAndRedrives", "events:PutEvents", arns.bus()),
        # The admin's endpoint check calls the endpoint with its configured credentials.
        allow("EndpointCheck", "secretsmanager:GetSecretValue", endpoint_secrets),
        # The filter preview and the quota page; neither action has resource types.
        allow("FilterPreviewAndQuotas", ["events:TestEventPattern", "events:ListRules",
                                         "events:ListConnections",
                                         "events:ListApiDestinations"], "*"),
        allow("UsageFigures", "apigateway:GET",
              [arns.apigateway("/usageplans/{id[usage_plan]}"),
               arns.apigateway("/usageplans/{id[usage_plan]}/*"),
               arns.apigateway("/apikeys"), arns.apigateway("/apikeys/*")]),
        # Delivery health charts; metric reads have no resource types.
        allow("DeliveryHealth", "cloudwatch:GetMetricData", "*"),
        # FlushStageAuthorizersCache: `DELETE /restapis/{id}/stages/{stage}/cache/authorizers`
        # on the partner API's stage, and nothing else of the API.
        allow("FlushAuthorizerCache", "apigateway:DELETE",
              arns.apigateway("/restapis/{id[partner_api]}/stages/{stage}/cache/authorizers")),
        # Its Flask session key (current and previous versions), read once per execution
        # environment at cold start (console/secret_key.py). Secrets Manager appends `-` and
        # six random characters to a secret's name in its ARN.
        allow("ConsoleSessionKey", "secretsmanager:GetSecretValue",
              arns.secrets("{console_secret}-??????")),
        *(mail_statements() if sends_mail else []),
    ]
