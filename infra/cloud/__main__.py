"""`pulumi up`: the whole gateway for one stage, wired from the stack's configuration.

Only wiring lives here; every resource is built by a component of `infra.cloud`, and every
stage difference comes from `Pulumi.<stage>.yaml`.
"""

import sys
from pathlib import Path

# Pulumi runs this file as a script from infra/cloud/; the repository root holds the
# `infra` and `partners` packages (installed editable by `make install`, or not at all).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pulumi  # noqa: E402
import pulumi_aws as aws  # noqa: E402

from infra.build_lambda import archive_path  # noqa: E402
from infra.cloud.session_key import ConsoleSessionKey, ConsoleSessionKeyArgs  # noqa: E402
from infra.cloud import (  # noqa: E402
    AccountSettings,
    AccountSettingsArgs,
    Console,
    ConsoleArgs,
    DeliveryLog,
    DeliveryLogArgs,
    EventBus,
    EventBusArgs,
    Functions,
    FunctionsArgs,
    Identity,
    IdentityArgs,
    Notifications,
    NotificationsArgs,
    Observability,
    ObservabilityArgs,
    PartnerApi,
    PartnerApiArgs,
    PortalApi,
    PortalApiArgs,
    Reconciler,
    ReconcilerArgs,
    RestApiStageArgs,
    StageConfigError,
    Storage,
    StorageArgs,
    Subscriptions,
    SubscriptionsArgs,
    common_environment,
    load_stage_config,
    partner_routes,
    partner_schemas,
)
from infra.spec import stage_spec  # noqa: E402

config = load_stage_config()
# Bucket names hold the deploying account and the region (infra/bucket_names.py): the
# provider's account, read once here (an invoke) so that every name stays a plain string.
spec = stage_spec(config.stage, config.partner_environments,
                  account_id=aws.get_caller_identity().account_id, region=config.region,
                  deliveries_ttl_days=config.deliveries_ttl_days)
account_id = aws.get_caller_identity_output().account_id
archive = archive_path(config.lambda_archive)
if not archive.is_file():
    raise StageConfigError(f"lambdaArchive {archive} does not exist: run `make lambda-archive`")
code = pulumi.FileArchive(str(archive))
assert spec.user_pool is not None

account = (AccountSettings("account", AccountSettingsArgs(
    spec=spec, sms_monthly_spend_limit=config.sms_monthly_spend_limit))
    if config.manage_account_settings else None)
storage = Storage("storage", StorageArgs(
    spec=spec, datalake_transition_days=config.datalake_transition_days,
    protect_data=config.protect_data))
notifications = Notifications("notifications", NotificationsArgs(spec=spec))
identity = Identity("identity", IdentityArgs(user_pool=spec.user_pool,
                                             protect_data=config.protect_data,
                                             email=config.cognito_email))
bus = EventBus("bus", EventBusArgs(
    spec=spec,
    datalake_bucket_arn=storage.buckets["datalake"].arn,
    dead_letter_arn=storage.queues["async_failures"].arn,
    archive_retention_days=config.archive_retention_days,
    log_retention_days=config.log_retention_days))

failures = storage.queues["async_failures"].arn
environment = common_environment(
    spec, allow_insecure_endpoints=config.allow_insecure_endpoints, quotas=config.quotas,
    topic_arns={k: t.arn for k, t in notifications.topics.items()},
    sms_sender_id=config.sms_sender_id)
functions = Functions("functions", FunctionsArgs(
    spec=spec, code=code, layer_arn=config.powertools_layer_arn, environment=environment,
    request_events_stream_arn=storage.tables["request_events"].stream_arn,
    topics_key_id=notifications.key.key_id, failure_destination_arn=failures,
    log_retention_days=config.log_retention_days,
    queue_arns={k: q.arn for k, q in storage.queues.items()}))
# The bus's own logs -> log group -> subscription filter -> the delivery indexer.
DeliveryLog("delivery-log", DeliveryLogArgs(
    log=spec.delivery_log, bus_arn=bus.bus.arn, indexer=functions["delivery_indexer"].function,
    account_id=account_id, region=config.region, retention_days=config.log_retention_days))

api_stage = RestApiStageArgs(stage_name=spec.stage, rate_limit=config.api_rate_limit,
                             burst_limit=config.api_burst_limit,
                             log_retention_days=config.log_retention_days)
account_dependency = [account.apigateway_account] if account else []
partner_api = PartnerApi("partner-api", PartnerApiArgs(
    spec=spec, routes=partner_routes(), components=partner_schemas(),
    handler=functions["partner_api"],
    authorizer=functions["authorizer"], usage_tiers=config.usage_tiers,
    default_tier=config.default_usage_tier, stage=api_stage, depends_on=account_dependency))
portal_api = PortalApi("portal-api", PortalApiArgs(
    spec=spec, handler=functions["portal_api"], stage=api_stage,
    depends_on=account_dependency))
Subscriptions("subscriptions", SubscriptionsArgs(
    spec=spec, account_id=account_id, bus_name=bus.bus.name,
    routing_recorder=functions["routing_recorder"].function, queues=storage.queues,
    datalake_rule_arn=bus.datalake_rule.arn, portal_callback=config.portal_callback,
    portal_callback_api_key=config.portal_callback_api_key))
reconciler = Reconciler("reconciler", ReconcilerArgs(
    spec=spec, code=code, layer_arn=config.powertools_layer_arn, environment=environment,
    routing_recorder_arn=functions["routing_recorder"].arn,
    routing_dlq_arn=storage.queues["routing_dlq"].arn,
    usage_plan_id=partner_api.default_usage_plan.id, topics_key_id=notifications.key.key_id,
    failure_destination_arn=failures, log_retention_days=config.log_retention_days,
    schedule_expression=config.reconcile_schedule,
    deep_schedule_expression=config.deep_reconcile_schedule))
session_key = ConsoleSessionKey("console-session-key", ConsoleSessionKeyArgs(
    spec=spec, value=config.console_session_secret, protect_data=config.protect_data))
console = Console("console", ConsoleArgs(
    spec=spec, code=code, layer_arn=config.powertools_layer_arn, environment=environment,
    session_secret=session_key.arn,
    user_pool_id=identity.user_pool.id, user_pool_client_id=identity.console_client.id,
    usage_plan_id=partner_api.default_usage_plan.id,
    failure_destination_arn=failures, log_retention_days=config.log_retention_days,
    rate_limit=config.api_rate_limit, burst_limit=config.api_burst_limit,
    partner_api_id=partner_api.api.id, partner_api_stage=partner_api.stage.stage_name,
    mail=config.cognito_email))
observability = Observability("observability", ObservabilityArgs(
    spec=spec, region=config.region, alarm_email=config.alarm_email,
    topics_key_arn=notifications.key.arn, partner_api_name=f"{spec.prefix}-partner-api",
    partner_api_stage=spec.stage, console_api_id=console.api.id,
    queue_names={q.logical: q.name for q in spec.queues.values()},
    function_names={f.logical: f.name for f in spec.functions.values()}))

pulumi.export("partner_api_url", pulumi.Output.concat(partner_api.url, "/v1"))
pulumi.export("portal_api_url", pulumi.Output.concat(portal_api.url, "/v1"))
pulumi.export("portal_invoke_policy_arn", portal_api.invoke_policy.arn)
pulumi.export("console_url", console.url)
pulumi.export("bus_name", bus.bus.name)
pulumi.export("user_pool_id", identity.user_pool.id)
pulumi.export("console_client_id", identity.console_client.id)
pulumi.export("usage_plan_ids", {tier: plan.id for tier, plan in partner_api.usage_plans.items()})
pulumi.export("alarm_topic_arn", observability.topic.arn)
pulumi.export("dashboard", observability.dashboard.dashboard_name)
pulumi.export("datalake_bucket", storage.buckets["datalake"].bucket)
