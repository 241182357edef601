"""The writer: one method per `ActionKind`, each building and sending its AWS request.

`RoutingWriter.apply(plan)` runs one environment's actions in the plan's order and stops at
the first failure, raised as a `RoutingError` (`partners.routing.failures` says which kind):
the rest of that environment waits for the next run, which plans again from what exists.
Nothing here retries or sleeps. Secret values are read only to be written into a connection;
they are never logged, returned or stored elsewhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from botocore.exceptions import BotoCoreError, ClientError

from partners.core.constants import Tags
from partners.onboarding import CredentialStore
from partners.routing.desired import DesiredEnvironment
from partners.routing.exceptions import RoutingError, RoutingPermanentError
from partners.routing.failures import (
    connection_not_ready,
    is_gone,
    is_temporary,
    routing_error,
)
from partners.routing.names import MANAGED_MARKER, PENDING_HASH, rule_description
from partners.routing.observed import ArnContext
from partners.routing.plan import USABLE_CONNECTION_STATES, Action, ActionKind, EnvironmentPlan

DLQ_RETENTION_SECONDS = 14 * 24 * 3600


@dataclass
class Written:
    """ARNs learnt while applying one environment's plan (later actions use earlier ones)."""

    connection_arn: str | None
    destination_arn: str | None
    rule_arn: str


Write = Callable[[Action, EnvironmentPlan, Written], None]


class RoutingWriter:
    """Apply plans to EventBridge, SQS and API Gateway, one method per kind of action.

    Every write method takes `(action, plan, written)`: the action, its environment's plan
    and the ARNs learnt so far (which it updates), and raises as `apply` does.
    """

    def __init__(self, *, events: Any, sqs: Any, apigateway: Any | None,
                 credentials: CredentialStore, bus_name: str, usage_plan_id: str | None,
                 arns: Callable[[], ArnContext]):
        self._events = events
        self._sqs = sqs
        self._apigateway = apigateway
        self.credentials = credentials
        self.bus_name = bus_name
        self.usage_plan_id = usage_plan_id
        self._arns = arns
        self.writes: Mapping[ActionKind, Write] = {
            ActionKind.CREATE_USAGE_KEY: self.create_usage_key,
            ActionKind.ATTACH_USAGE_KEY: self.attach_usage_key,
            ActionKind.ENABLE_USAGE_KEY: self.enable_usage_key,
            ActionKind.CREATE_CONNECTION: self.create_connection,
            ActionKind.UPDATE_CONNECTION: self.update_connection,
            ActionKind.CREATE_DESTINATION: self.create_destination,
            ActionKind.UPDATE_DESTINATION: self.update_destination,
            ActionKind.CREATE_QUEUE: self.create_queue,
            ActionKind.CREATE_RULE: self.create_rule,
            ActionKind.PUT_TARGETS: self.put_targets,
            ActionKind.REMOVE_TARGETS: self.remove_targets,
            ActionKind.TAG_RULE: self.tag_rule,
            ActionKind.STAMP_RULE: self.stamp_rule,
            ActionKind.DELETE_RULE: self.delete_rule,
            ActionKind.DELETE_DESTINATION: self.delete_destination,
            ActionKind.DELETE_CONNECTION: self.delete_connection,
            ActionKind.DELETE_QUEUE: self.delete_queue,
            ActionKind.DELETE_USAGE_KEY: self.delete_usage_key,
        }

    def apply(self, plan: EnvironmentPlan) -> Written:
        """Run one environment's actions in order.

        Parameters
        ----------
        plan: the environment's plan (`plan.refusal` is the caller's to handle).

        Returns
        -------
        The ARNs of its connection, destination and rule after the writes.

        Raises
        ------
        RoutingTemporaryError: throttling, a 5xx, a race with another writer; the actions
            after the failed one are left to the next run.
        RoutingPermanentError: a write AWS refuses for its input; the reason never holds a
            secret.
        """
        observed = plan.observed
        written = Written(
            connection_arn=observed.connection.arn if observed.connection else None,
            destination_arn=observed.destination.arn if observed.destination else None,
            rule_arn=observed.rule.arn if observed.rule else self._arns().rule_arn(plan.name),
        )
        for action in plan.actions:
            self.writes[action.kind](action, plan, written)
        return written

    # --- usage-plan keys ------------------------------------------------------------------

    def create_usage_key(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """CreateApiKey with the environment's key value, then CreateUsagePlanKey."""
        desired = _desired(plan)
        api = self._usage_plan_api()
        key = self._call(api.create_api_key, name=desired.name, value=desired.usage_key_value,
                         enabled=True, tags=desired.tags())
        self._call(api.create_usage_plan_key, usagePlanId=self.usage_plan_id, keyId=key["id"],
                   keyType="API_KEY")

    def attach_usage_key(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """CreateUsagePlanKey for a key that exists but is not in the usage plan."""
        self._call(self._usage_plan_api().create_usage_plan_key, usagePlanId=self.usage_plan_id,
                   keyId=action.ids[0], keyType="API_KEY")

    def enable_usage_key(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """UpdateApiKey: enable a key someone disabled."""
        self._call(self._usage_plan_api().update_api_key, apiKey=action.ids[0],
                   patchOperations=[{"op": "replace", "path": "/enabled", "value": "true"}])

    def delete_usage_key(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """DeleteApiKey (a key already gone counts as deleted)."""
        self._call(self._usage_plan_api().delete_api_key, gone_ok=True, apiKey=action.ids[0])

    # --- connection and API destination ---------------------------------------------------

    def create_connection(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """CreateConnection with the endpoint's credentials; go on only once AUTHORIZED."""
        self._put_connection(self._events.create_connection, _desired(plan), written)

    def update_connection(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """UpdateConnection with the endpoint's current credentials (EventBridge authorises
        it again); go on only once AUTHORIZED."""
        self._put_connection(self._events.update_connection, _desired(plan), written)

    def create_destination(self, action: Action, plan: EnvironmentPlan,
                           written: Written) -> None:
        """CreateApiDestination on the environment's connection."""
        request = self._destination_request(_desired(plan), written)
        response = self._call(self._events.create_api_destination, Description=MANAGED_MARKER,
                              **request)
        written.destination_arn = response["ApiDestinationArn"]

    def update_destination(self, action: Action, plan: EnvironmentPlan,
                           written: Written) -> None:
        """UpdateApiDestination: endpoint, method, rate limit, connection."""
        request = self._destination_request(_desired(plan), written)
        response = self._call(self._events.update_api_destination, **request)
        written.destination_arn = response["ApiDestinationArn"]

    def delete_destination(self, action: Action, plan: EnvironmentPlan,
                           written: Written) -> None:
        """DeleteApiDestination (already gone counts as deleted)."""
        self._call(self._events.delete_api_destination, gone_ok=True, Name=plan.name)

    def delete_connection(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """DeleteConnection (already gone counts as deleted)."""
        self._call(self._events.delete_connection, gone_ok=True, Name=plan.name)

    # --- dead-letter queue ----------------------------------------------------------------

    def create_queue(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """CreateQueue: the environment's dead-letter queue, writable by its rule only."""
        desired = _desired(plan)
        self._call(self._sqs.create_queue, QueueName=desired.name,
                   Attributes=self._queue_attributes(desired), tags=desired.tags())

    def delete_queue(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """DeleteQueue: planned only once the queue is known to be empty."""
        queue = plan.observed.queue
        assert queue is not None, "delete_queue is planned only for an observed queue"
        self._call(self._sqs.delete_queue, gone_ok=True, QueueUrl=queue.url)

    # --- rule and targets -----------------------------------------------------------------

    def create_rule(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """PutRule for a new rule, tagged, its description stamped `pending`."""
        desired = _desired(plan)
        # Stamped `pending` until its targets are in: a crash in between is seen next run.
        written.rule_arn = self._put_rule(desired, PENDING_HASH, Tags=_rule_tags(desired))

    def put_targets(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """PutTargets for the target ids the action names."""
        desired = _desired(plan)
        targets = [t.to_aws(written.destination_arn) for t in desired.targets
                   if t.id in action.ids]
        _check_entries(self._call(self._events.put_targets, Rule=desired.name,
                                  EventBusName=self.bus_name, Targets=targets))

    def remove_targets(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """RemoveTargets for the target ids the action names."""
        _check_entries(self._call(self._events.remove_targets, gone_ok=True, Rule=plan.name,
                                  EventBusName=self.bus_name, Ids=list(action.ids)))

    def tag_rule(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """TagResource: the rule's ownership tags and config hash."""
        self._call(self._events.tag_resource, ResourceARN=written.rule_arn,
                   Tags=_rule_tags(_desired(plan)))

    def stamp_rule(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """PutRule with the pattern and the final config hash, written last."""
        desired = _desired(plan)
        written.rule_arn = self._put_rule(desired, desired.config_hash)

    def delete_rule(self, action: Action, plan: EnvironmentPlan, written: Written) -> None:
        """DeleteRule (already gone counts as deleted); its targets are removed first."""
        self._call(self._events.delete_rule, gone_ok=True, Name=plan.name,
                   EventBusName=self.bus_name)

    # --- requests -------------------------------------------------------------------------

    def _call(self, operation: Callable[..., Any], *, gone_ok: bool = False,
              **request: Any) -> Any:
        """One AWS write; a failure becomes a `RoutingError` (a removal may find it gone)."""
        try:
            return operation(**request)
        except (ClientError, BotoCoreError) as error:
            if gone_ok and is_gone(error):
                return {}
            raise routing_error(error) from None

    def _usage_plan_api(self) -> Any:
        if self._apigateway is None:  # usage-key actions are planned only with a usage plan
            raise RoutingPermanentError("this stage has no usage plan for API keys",
                                        code="NoUsagePlan")
        return self._apigateway

    def _put_rule(self, desired: DesiredEnvironment, config_hash: str, **extra: Any) -> str:
        response = self._call(self._events.put_rule, Name=desired.name,
                              EventBusName=self.bus_name, EventPattern=desired.pattern,
                              State=desired.rule_state,
                              Description=rule_description(config_hash),
                              **extra)
        return str(response["RuleArn"])

    def _put_connection(self, operation: Callable[..., Any], desired: DesiredEnvironment,
                        written: Written) -> None:
        request, secret = self._connection_request(desired)
        try:
            response = self._call(operation, **request)
        except RoutingError as error:
            # AWS validation messages may quote the offending value: never pass it on.
            raise type(error)(_scrub(error.reason, secret), code=error.code) from None
        written.connection_arn = response.get("ConnectionArn", written.connection_arn)
        try:
            self._check_authorized(desired.name, str(response.get("ConnectionState") or ""))
        except RoutingError as error:  # a token endpoint's answer could echo the secret
            raise type(error)(_scrub(error.reason, secret), code=error.code) from None

    def _check_authorized(self, name: str, state: str) -> None:
        """Raise unless the connection just written is AUTHORIZED.

        EventBridge authorises a connection after Create/UpdateConnection answer (`CREATING`,
        `UPDATING`, `AUTHORIZING`); its user guide says to "ensure that the connection
        reaches the AUTHORIZED state before creating the API destination" (eb-target-
        connection). One DescribeConnection, no waiting: API key and Basic are usually
        authorised by then, OAuth once its token endpoint has answered, which the next run
        sees.
        """
        reason = ""
        if state and state not in USABLE_CONNECTION_STATES:
            described = self._call(self._events.describe_connection, Name=name)
            state = str(described.get("ConnectionState") or "")
            reason = str(described.get("StateReason") or "")
        if state and state not in USABLE_CONNECTION_STATES:
            raise connection_not_ready(state, reason)

    def _connection_request(self, desired: DesiredEnvironment) -> tuple[dict[str, Any], str]:
        """The CreateConnection/UpdateConnection request and the secret value inside it."""
        spec = desired.connection
        assert spec is not None, "connection actions are planned only for push environments"
        try:
            secret = self.credentials.value(spec.secret_arn)
        except (ClientError, BotoCoreError, KeyError, ValueError) as error:
            if isinstance(error, (ClientError, BotoCoreError)) and is_temporary(error):
                raise routing_error(error) from None
            raise RoutingPermanentError("the endpoint credentials cannot be read; set them "
                                        "again in the console", code="SecretUnreadable") from None
        return {"Name": desired.name, "Description": rule_description(spec.config_hash),
                "AuthorizationType": spec.auth_type.value,
                "AuthParameters": spec.auth_parameters(secret)}, secret

    def _destination_request(self, desired: DesiredEnvironment,
                             written: Written) -> dict[str, Any]:
        destination = desired.destination
        assert destination is not None, "destination actions are planned only for push"
        return {"Name": desired.name, "ConnectionArn": written.connection_arn,
                "InvocationEndpoint": destination.endpoint, "HttpMethod": destination.method,
                "InvocationRateLimitPerSecond": destination.rate_limit_per_second}

    def _queue_attributes(self, desired: DesiredEnvironment) -> dict[str, str]:
        arns = self._arns()
        policy = {"Version": "2012-10-17", "Statement": [{
            "Sid": "EventBridgeDeadLetters",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arns.queue_arn(desired.name),
            "Condition": {"ArnEquals": {"aws:SourceArn": arns.rule_arn(desired.name)}},
        }]}
        return {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS),
                "SqsManagedSseEnabled": "true", "Policy": json.dumps(policy)}


def _desired(plan: EnvironmentPlan) -> DesiredEnvironment:
    assert plan.desired is not None, f"{plan.name}: this action needs a desired state"
    return plan.desired


def _rule_tags(desired: DesiredEnvironment) -> list[dict[str, str]]:
    tags = {**desired.tags(), Tags.CONFIG_HASH: desired.config_hash}
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _check_entries(response: Mapping[str, Any]) -> None:
    """PutTargets and RemoveTargets answer 200 with failed entries: raise the first."""
    failed = response.get("FailedEntries") or []
    if failed:
        entry = failed[0]
        error = ClientError({"Error": {"Code": entry.get("ErrorCode", "FailedEntry"),
                                       "Message": entry.get("ErrorMessage", "")}},
                            "PutTargets")
        raise routing_error(error)


def _scrub(reason: str, secret: str) -> str:
    """`reason` without the secret value or any value AWS quotes back (`Value '...' at`)."""
    if secret:
        reason = reason.replace(secret, "***").replace(json.dumps(secret)[1:-1], "***")
    return re.sub(r"Value '.*?' at", "Value (hidden) at", reason, flags=re.DOTALL)
