"""The roles the stage declares, and their IAM role names."""

from __future__ import annotations

from infra.spec import StageSpec

# One role per Lambda function (named as in `infra.spec`'s functions) ...
FUNCTION_ROLES = ("partner_api", "authorizer", "portal_api", "routing_recorder", "projector",
                  "notifier", "reconciler", "console", "delivery_indexer")
# ... and the roles AWS services assume for the stage.
SERVICE_ROLES = (
    "partner_delivery",     # EventBridge -> partners' API destinations (the reconciler's rules)
    "portal_callback",      # EventBridge -> the user portal's status webhook
    "datalake_firehose",    # Firehose -> the data lake bucket
    "datalake_rule",        # EventBridge -> the data lake's Firehose stream
    "reconcile_scheduler",  # EventBridge Scheduler -> the reconciler
    "apigateway_logs",      # API Gateway -> CloudWatch Logs (one per account and region)
)
ROLE_NAMES = FUNCTION_ROLES + SERVICE_ROLES
# Identity policies the stage publishes for roles outside it (the user portal's own role).
EXTERNAL_POLICIES = ("portal_invoke",)


def role_names(spec: StageSpec) -> dict[str, str]:
    """role -> IAM role name in `spec`'s stage (every one starts with the stage prefix)."""
    names = {role: f"{spec.functions[role].name}-fn" for role in FUNCTION_ROLES}
    names.update({role: f"{spec.prefix}-{role.replace('_', '-')}" for role in SERVICE_ROLES})
    return names
