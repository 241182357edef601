"""The API's resource tree: routes, their authorisation, and how API Gateway picks one.

Literal segments before `{param}`, `{proxy+}` greedy; an unknown path or method matches no
route (the gateway answers 403 `Missing Authentication Token`, as API Gateway does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


@dataclass(frozen=True)
class Authorizer:
    """A Lambda authorizer: `REQUEST` (identity source: headers) or `TOKEN` (one header)."""

    function: str
    type: str = "REQUEST"
    identity_headers: tuple[str, ...] = ("Authorization",)
    ttl_seconds: int = 0

    def __post_init__(self) -> None:
        if self.type not in ("REQUEST", "TOKEN"):
            raise ValueError(f"authorizer type must be REQUEST or TOKEN, not {self.type!r}")
        if self.type == "TOKEN" and len(self.identity_headers) != 1:
            raise ValueError("a TOKEN authorizer reads exactly one header")


@dataclass(frozen=True)
class IamAuth:
    """Stands in for `AWS_IAM` authorisation: the caller presents the stack's portal token.

    On AWS the portal signs its calls with SigV4 and API Gateway checks the signature before
    the handler runs; locally a bearer token plays the signed identity, checked here, so the
    portal handler sees the same request context either way.
    """

    token: str
    caller_arn: str = f"arn:aws:iam::{ACCOUNT_ID}:role/portal"


@dataclass(frozen=True)
class Route:
    """One method on one resource (`ANY` matches every method)."""

    method: str
    resource: str
    function: str
    auth: Authorizer | IamAuth | None = None

    def __post_init__(self) -> None:
        if not self.resource.startswith("/"):
            raise ValueError(f"resource {self.resource!r} must start with /")

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(s for s in self.resource.split("/") if s)


_PARAM = re.compile(r"^\{([A-Za-z0-9_]+)(\+?)\}$")


def _specificity(route: Route) -> tuple:
    # Literal segments beat `{param}`, which beats `{proxy+}`; then longer resources first.
    ranks = []
    for segment in route.segments:
        match = _PARAM.match(segment)
        ranks.append(0 if not match else (2 if match.group(2) else 1))
    return tuple(ranks) + (9,) * (64 - len(ranks)), route.method == "ANY"


def match_route(routes: Iterable[Route], method: str, path: str
                ) -> tuple[Route, dict[str, str]] | None:
    """The route API Gateway would pick for `method path`, and its path parameters."""
    parts = [p for p in path.split("/") if p]
    best: tuple[tuple, Route, dict[str, str]] | None = None
    for route in routes:
        if route.method not in ("ANY", method):
            continue
        parameters = _match_segments(route.segments, parts)
        if parameters is None:
            continue
        rank = _specificity(route)
        if best is None or rank < best[0]:
            best = (rank, route, parameters)
    return (best[1], best[2]) if best else None


def _match_segments(segments: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    parameters: dict[str, str] = {}
    for index, segment in enumerate(segments):
        match = _PARAM.match(segment)
        if match and match.group(2):  # greedy proxy: the rest of the path, at least one part
            if index >= len(parts):
                return None
            parameters[match.group(1)] = "/".join(parts[index:])
            return parameters
        if index >= len(parts):
            return None
        if match:
            parameters[match.group(1)] = parts[index]
        elif segment != parts[index]:
            return None
    return parameters if len(segments) == len(parts) else None


def partner_api_routes(function_names: Mapping[str, str], *, portal_token: str | None = None,
                       authorizer_type: str = "REQUEST", authorizer_ttl_seconds: int = 0
                       ) -> list[Route]:
    """The gateway's `/v1` resource tree: partner API (Lambda authorizer) and portal.

    `function_names` maps the spec's logical names (`partner_api`, `portal_api`,
    `authorizer`) to function names. The partner resources mirror the OpenAPI document's
    paths; unknown paths below `/v1` reach the partner function (after authorisation), which
    answers them with its own problem+json 404. The portal routes are IAM-authorised on AWS;
    with `portal_token` the gateway checks that token in IAM's place, without it they use the
    Lambda authorizer, which accepts the portal's bearer token (`PGW_PORTAL_TOKEN_HASH`).
    """
    authorizer = Authorizer(function_names["authorizer"], type=authorizer_type,
                            ttl_seconds=authorizer_ttl_seconds)
    partner, portal = function_names["partner_api"], function_names["portal_api"]
    portal_auth: Authorizer | IamAuth = IamAuth(portal_token) if portal_token else authorizer
    return [
        Route("GET", "/v1/openapi.json", partner),
        Route("GET", "/v1/requests", partner, authorizer),
        Route("GET", "/v1/requests/{id}", partner, authorizer),
        Route("POST", "/v1/requests/{id}/status", partner, authorizer),
        Route("GET", "/v1/requests/{id}/documents", partner, authorizer),
        Route("ANY", "/v1/{proxy+}", partner, authorizer),
        Route("ANY", "/v1/portal/{proxy+}", portal, portal_auth),
    ]
