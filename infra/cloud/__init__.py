"""The Pulumi program's components: one `XArgs` + `X(pulumi.ComponentResource)` per part.

`__main__.py` wires them from the stack configuration; tests build them under mocks.
"""

from infra.cloud.account import AccountSettings, AccountSettingsArgs
from infra.cloud.apis import PartnerApi, PartnerApiArgs, PortalApi, PortalApiArgs, RestApiStageArgs
from infra.cloud.config import StageConfig, StageConfigError, load_stage_config
from infra.cloud.console import Console, ConsoleArgs
from infra.cloud.delivery_log import DeliveryLog, DeliveryLogArgs
from infra.cloud.eventbus import EventBus, EventBusArgs
from infra.cloud.function import StageFunction, StageFunctionArgs
from infra.cloud.functions import Functions, FunctionsArgs, common_environment
from infra.cloud.identity import Identity, IdentityArgs
from infra.cloud.notifications import Notifications, NotificationsArgs
from infra.cloud.observability import Observability, ObservabilityArgs
from infra.cloud.openapi import partner_routes, partner_schemas
from infra.cloud.reconciler import Reconciler, ReconcilerArgs
from infra.cloud.storage import Storage, StorageArgs
from infra.cloud.subscriptions import Subscriptions, SubscriptionsArgs

__all__ = [
    "AccountSettings", "AccountSettingsArgs", "Console", "ConsoleArgs", "DeliveryLog",
    "DeliveryLogArgs", "EventBus",
    "EventBusArgs", "Functions", "FunctionsArgs", "Identity", "IdentityArgs", "Notifications",
    "NotificationsArgs", "Observability", "ObservabilityArgs", "PartnerApi", "PartnerApiArgs",
    "PortalApi", "PortalApiArgs", "Reconciler", "ReconcilerArgs", "RestApiStageArgs",
    "StageConfig", "StageConfigError", "StageFunction", "StageFunctionArgs", "Storage",
    "StorageArgs", "Subscriptions", "SubscriptionsArgs", "common_environment",
    "load_stage_config", "partner_routes", "partner_schemas",
]
