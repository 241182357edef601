"""The stage's functions as principals: each with its role's statements from `infra.roles`.

The statements are the ones the Pulumi program deploys (`infra.roles.resolve`), resolved for
the embedded stack's partition, region, account and deploy-time ids (an id the stack does not
have resolves to `*`). Each principal resolves its statements once, on its first request.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, Sequence

from infra.local.iam.principals import PRINCIPALS, Principal, install_credential_hooks
from infra.roles import FUNCTION_ROLES, ArnContext, MailSender, resolve, role_names
from infra.spec import StageSpec

logger = logging.getLogger(__name__)

Resolve = Callable[[str, ArnContext], Sequence[Mapping[str, Any]]]


def register_stage(spec: StageSpec, *, region: str, account: str, partition: str = "aws",
                   ids: Mapping[str, str] | None = None,
                   resolver: Resolve = resolve,
                   mail: MailSender | None = None) -> list[Principal]:
    """Register a principal for each of the stage's functions; install the credential hooks.

    `mail`: the console's email sender, when the stack has one (its `ses:SendEmail` grant).

    A function `infra.roles` has no role for gets a principal with no statements: every
    call it makes is refused (and logged), never waved through.

    Returns the principals, in the spec's order.
    """
    context = ArnContext(partition=partition, region=region, account=account, spec=spec,
                         ids=dict(ids or {}), mail=mail)
    names = role_names(spec)
    principals = []
    for logical, function in spec.functions.items():
        if logical in FUNCTION_ROLES:
            source = _source(resolver, logical, context)
        else:
            logger.error("function %s has no role in infra.roles: every AWS call it makes is "
                         "refused", function.name)
            source = list
        principals.append(PRINCIPALS.register(Principal(
            function=function.name, role=names.get(logical, f"{function.name}-fn"),
            account=account, source=source)))
    install_credential_hooks()
    return principals


def _source(resolver: Resolve, role: str,
            context: ArnContext) -> Callable[[], Sequence[Mapping[str, Any]]]:
    return lambda: resolver(role, context)


def unregister_all() -> None:
    """Forget every principal (the stack stopped): requests are the operator's again."""
    PRINCIPALS.clear()
