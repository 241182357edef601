"""Patches for event bus logs: the bus's LogConfig, its vended delivery, the subscription.

moto 5.2 drops an event bus's `LogConfig`, refuses EventBridge as a CloudWatch vended-log
delivery source, and calls a log group's subscription function synchronously with every
event (ignoring the filter pattern). These patches keep the LogConfig (CreateEventBus,
UpdateEventBus, DescribeEventBus), accept the event bus log types, and hand subscription
deliveries to the attached local runtime (`LocalRuntime.log_subscriptions`), which filters
them and invokes the function asynchronously, as CloudWatch Logs does.
"""

from __future__ import annotations

import json
from typing import Any

from infra.local.patches.host import attached
from infra.local.patches.registry import MOTO_5_2, Patch

LOG_CONFIG_DOC = "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_LogConfig.html"
BUS_LOGS_DOC = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-logs.html"
SUBSCRIPTIONS_DOC = \
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html"

LOG_LEVELS = ("OFF", "ERROR", "INFO", "TRACE")
INCLUDE_DETAIL = ("NONE", "FULL")
# The log types an event bus offers as a vended-log delivery source (eb-event-bus-logs).
EVENT_BUS_LOG_TYPES = ("ERROR_LOGS", "INFO_LOGS", "TRACE_LOGS")


def _validated(log_config: Any) -> dict[str, str] | None:
    """A LogConfig as EventBridge stores it, or None; ValidationException for bad values."""
    from moto.events.exceptions import ValidationException

    if not log_config:
        return None
    level = str(log_config.get("Level", "OFF"))
    detail = str(log_config.get("IncludeDetail", "NONE"))
    if level not in LOG_LEVELS or detail not in INCLUDE_DETAIL:
        raise ValidationException(
            f"LogConfig Level must be one of {', '.join(LOG_LEVELS)} and IncludeDetail one "
            f"of {', '.join(INCLUDE_DETAIL)}")
    return {"Level": level, "IncludeDetail": detail}


def keep_event_bus_log_config() -> None:
    """CreateEventBus and UpdateEventBus keep `LogConfig`; DescribeEventBus returns it.

    Targets moto >=5.2.5,<5.3: `moto.events.responses.EventsHandler.create_event_bus` and
    `describe_event_bus`; adds `update_event_bus` (moto lacks UpdateEventBus).
    AWS: an event bus's LogConfig (Level OFF | ERROR | INFO | TRACE, IncludeDetail NONE |
    FULL) decides which processing steps it logs, and with what detail.
    Why: moto ignores the parameter, so the runtime could not know what the bus logs.
    Follows: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_LogConfig.html
    """
    from moto.events.responses import EventsHandler

    original_create = EventsHandler.create_event_bus
    original_describe = EventsHandler.describe_event_bus

    def create_event_bus(handler: Any) -> Any:
        log_config = _validated(handler._get_param("LogConfig"))
        answer = original_create(handler)
        bus = handler.events_backend.describe_event_bus(handler._get_param("Name"))
        bus.log_config = log_config
        return answer

    def update_event_bus(handler: Any) -> Any:
        bus = handler.events_backend.describe_event_bus(handler._get_param("Name") or "default")
        if handler._get_param("LogConfig") is not None:
            bus.log_config = _validated(handler._get_param("LogConfig"))
        if handler._get_param("Description") is not None:
            bus.description = handler._get_param("Description")
        answer: dict[str, Any] = {"Arn": bus.arn, "Name": bus.name}
        if getattr(bus, "log_config", None):
            answer["LogConfig"] = bus.log_config
        return json.dumps(answer), handler.response_headers

    def describe_event_bus(handler: Any) -> Any:
        body, headers = original_describe(handler)
        bus = handler.events_backend.describe_event_bus(handler._get_param("Name") or "default")
        if getattr(bus, "log_config", None):
            answer = json.loads(body)
            answer["LogConfig"] = bus.log_config
            body = json.dumps(answer)
        return body, headers

    EventsHandler.create_event_bus = create_event_bus  # type: ignore[method-assign,assignment]
    EventsHandler.update_event_bus = update_event_bus  # type: ignore[attr-defined]
    EventsHandler.describe_event_bus = describe_event_bus  # type: ignore[method-assign,assignment]


def accept_event_bus_delivery_sources() -> None:
    """PutDeliverySource accepts an event bus (log types ERROR_LOGS, INFO_LOGS, TRACE_LOGS).

    Targets moto >=5.2.5,<5.3: `moto.logs.models.LogsBackend.put_delivery_source`.
    AWS: an event bus's logs reach CloudWatch Logs, Firehose or S3 through CloudWatch
    vended-log delivery: a delivery source (the bus), a delivery destination, a delivery.
    Why: moto knows a fixed list of services and refuses `events` ("Cannot access provided
    service."). Other services keep moto's own behaviour.
    Follows: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-logs.html
    """
    from moto.logs.exceptions import ConflictException, ValidationException
    from moto.logs.models import DeliverySource, LogsBackend

    original = LogsBackend.put_delivery_source

    def put_delivery_source(backend: Any, name: str, resource_arn: str, log_type: str,
                            tags: dict[str, str]) -> Any:
        if resource_arn.split(":")[2:3] != ["events"] or ":event-bus/" not in resource_arn:
            return original(backend, name, resource_arn, log_type, tags)
        if log_type not in EVENT_BUS_LOG_TYPES:
            raise ValidationException(msg=" This service is not allowed for this LogSource.")
        existing = backend.delivery_sources.get(name)
        if existing is not None and resource_arn not in existing.resource_arns:
            raise ConflictException(msg="Update to existing Delivery Source with new "
                                        "ResourceId is not allowed.")
        source = DeliverySource(account_id=backend.account_id, region=backend.region_name,
                                name=name, resource_arn=resource_arn, log_type=log_type,
                                tags=tags)
        backend.delivery_sources[name] = source
        if tags:
            backend.tag_resource(source.arn, tags)
        return source

    LogsBackend.put_delivery_source = put_delivery_source  # type: ignore[method-assign,assignment]


def deliver_subscriptions_asynchronously() -> None:
    """A log group's subscription function gets the filtered events, asynchronously.

    Targets moto >=5.2.5,<5.3: `moto.awslambda.models.LambdaBackend.send_log_event`.
    AWS: CloudWatch Logs invokes the function asynchronously with the events the filter
    pattern matches (an `awslogs` event: base64 gzip of the DATA_MESSAGE).
    Why: moto invokes it synchronously inside PutLogEvents with every event. With a runtime
    attached its `log_subscriptions` filters and queues the invocation; without one, moto's
    own `send_log_event`.
    Follows: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
    """
    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.send_log_event

    def send_log_event(backend: Any, function_arn: str, filter_name: str, log_group_name: str,
                       log_stream_name: str, log_events: Any) -> None:
        runtime = attached()
        if runtime is None:
            return original(backend, function_arn, filter_name, log_group_name,
                            log_stream_name, log_events)
        runtime.log_subscriptions.deliver(function_arn, filter_name, log_group_name,
                                          log_stream_name, log_events)
        return None

    LambdaBackend.send_log_event = send_log_event  # type: ignore[method-assign,assignment]


PATCHES = (
    Patch(keep_event_bus_log_config, (MOTO_5_2,), LOG_CONFIG_DOC),
    Patch(accept_event_bus_delivery_sources, (MOTO_5_2,), BUS_LOGS_DOC),
    Patch(deliver_subscriptions_asynchronously, (MOTO_5_2,), SUBSCRIPTIONS_DOC),
)
