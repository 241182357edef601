"""Subscriptions: the stage's own rules on the bus (the reconciler owns the partners' rules).

- Portal callback: `Request Status Changed` -> the user portal's webhook (API destination,
  API-key connection from a Pulumi secret), retry policy, DLQ.
- The routing recorder may be invoked by every partner rule (the reconciler's `routing`
  targets), and EventBridge may dead-letter into the routing DLQ from those rules.
- The queue policies of the stage's dead-letter queues, one per queue (SQS keeps one policy).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.cloud.config import PortalCallback
from infra.cloud.documents import queue_policy_for_events
from infra.cloud.iam import StageRole, arn_context, rendered
from infra.roles import ArnContext, arns
from infra.spec import StageSpec
from partners.core.constants import REQUEST_STATUS_CHANGED, SOURCE_REQUESTS

STATUS_CHANGED_PATTERN = {"source": [SOURCE_REQUESTS], "detail-type": [REQUEST_STATUS_CHANGED]}
# The portal's webhook gets EventBridge's full retry window.
CALLBACK_RETRY = {"maximum_event_age_in_seconds": 86_400, "maximum_retry_attempts": 185}


# ARN pattern of every rule the reconciler owns on the stage's bus (infra.roles template).
PARTNER_RULES = arns.rules("{partner_prefix}*")


@dataclass
class SubscriptionsArgs:
    """The bus, the functions and queues the stage's rules reach, the callback settings."""

    spec: StageSpec
    account_id: pulumi.Input[str]
    bus_name: pulumi.Input[str]
    routing_recorder: aws.lambda_.Function
    queues: dict[str, aws.sqs.Queue]
    datalake_rule_arn: pulumi.Input[str]
    portal_callback: PortalCallback
    portal_callback_api_key: pulumi.Input[str]


class Subscriptions(pulumi.ComponentResource):
    """The portal callback rule, routing recorder permission, DLQ policies."""

    callback_rule: aws.cloudwatch.EventRule

    def __init__(self, name: str, args: SubscriptionsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:Subscriptions", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        queues = args.queues
        context = arn_context(args.spec)
        self._portal_callback(name, args, context, child)

        partner_rules = rendered(context, PARTNER_RULES)
        # Lambda matches SourceArn with ArnLike, so one permission covers every partner rule
        # the reconciler creates later, and no rule outside the prefix.
        self.routing_permission = aws.lambda_.Permission(
            f"{name}-routing-recorder-permission", action="lambda:InvokeFunction",
            function=args.routing_recorder.name, principal="events.amazonaws.com",
            source_arn=partner_rules, source_account=args.account_id, opts=child)

        dead_letter_sources: dict[str, list[pulumi.Input[str]]] = {
            "portal_callback_dlq": [self.callback_rule.arn],
            "routing_dlq": [partner_rules],
            "async_failures": [args.datalake_rule_arn],
        }
        self.queue_policies = {
            logical: aws.sqs.QueuePolicy(
                f"{name}-{logical.replace('_', '-')}-policy", queue_url=queues[logical].url,
                policy=queue_policy_for_events(queues[logical].arn, sources), opts=child)
            for logical, sources in dead_letter_sources.items()
        }
        self.register_outputs({"callback_rule": self.callback_rule.arn})

    def _portal_callback(self, name: str, args: SubscriptionsArgs,
                         context: pulumi.Output[ArnContext],
                         child: pulumi.ResourceOptions) -> None:
        spec, callback = args.spec, args.portal_callback
        self.callback_connection = aws.cloudwatch.EventConnection(
            f"{name}-callback-connection", name=f"{spec.prefix}-portal-callback",
            authorization_type="API_KEY",
            auth_parameters=aws.cloudwatch.EventConnectionAuthParametersArgs(
                api_key=aws.cloudwatch.EventConnectionAuthParametersApiKeyArgs(
                    key=callback.api_key_header, value=args.portal_callback_api_key)),
            description="Credentials of the user portal's status webhook",
            opts=child)
        self.callback_destination = aws.cloudwatch.EventApiDestination(
            f"{name}-callback-destination", name=f"{spec.prefix}-portal-callback",
            connection_arn=self.callback_connection.arn,
            invocation_endpoint=callback.url, http_method="POST",
            invocation_rate_limit_per_second=callback.rate_limit_per_second,
            description="The user portal's status webhook", opts=child)
        # EventBridge assumes this role (infra.roles: portal_callback) to call the webhook.
        role = StageRole(f"{name}-callback", "portal_callback", spec, context, child).role
        self.callback_rule = aws.cloudwatch.EventRule(
            f"{name}-callback-rule", name=f"{spec.prefix}-portal-callback",
            event_bus_name=args.bus_name, event_pattern=json.dumps(STATUS_CHANGED_PATTERN),
            description="Request status changes to the user portal", opts=child)
        self.callback_target = aws.cloudwatch.EventTarget(
            f"{name}-callback-target", rule=self.callback_rule.name,
            event_bus_name=args.bus_name, target_id="portal", arn=self.callback_destination.arn,
            role_arn=role.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(**CALLBACK_RETRY),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(
                arn=args.queues["portal_callback_dlq"].arn),
            opts=child)
