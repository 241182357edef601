"""The stage's functions as principals: each with its role's statements from `infra.roles`.

The statements are the ones the Pulumi program deploys (`infra.roles.resolve`), resolved for
the embedded stack's partition, region, account and deploy-time ids (an id the stack does not
have resolves to `*`). Each principal resolves its statements once, on its first request.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from infra.local.iam.principals import PRINCIPALS, Principal, install_credential_hooks
from infra.roles import FUNCTION_ROLES, ArnContext, resolve, role_names
from infra.spec import StageSpec

Resolve = Callable[[str, ArnContext], Sequence[Mapping[str, Any]]]


def register_stage(spec: StageSpec, *, region: str, account: str, partition: str = "aws",
                   ids: Mapping[str, str] | None = None,
                   resolver: Resolve = resolve) -> list[Principal]:
    """Register a principal for each of the stage's functions; install the credential hooks.

    Returns the principals, in `FUNCTION_ROLES` order.
    """
    context = ArnContext(partition=partition, region=region, account=account, spec=spec,
                         ids=dict(ids or {}))
    names = role_names(spec)
    principals = []
    for role in FUNCTION_ROLES:
        if role not in spec.functions:
            continue
        principals.append(PRINCIPALS.register(Principal(
            function=spec.function_name(role), role=names[role], account=account,
            source=_source(resolver, role, context))))
    install_credential_hooks()
    return principals


def _source(resolver: Resolve, role: str,
            context: ArnContext) -> Callable[[], Sequence[Mapping[str, Any]]]:
    return lambda: resolver(role, context)


def unregister_all() -> None:
    """Forget every principal (the stack stopped): requests are the operator's again."""
    PRINCIPALS.clear()
