"""Patch of moto's request authorisation: a function's requests are decided by its role.

moto calls `ActionAuthenticatorMixin._authenticate_and_authorize_normal_action` before every
action of the services served by `BaseResponse.call_action`, and `..._s3_action` in S3's
handlers; both do nothing unless moto's own IAM simulation is on. Here, a request signed with
a function's access key (`infra.local.iam.principals`) is decided by `infra.local.iam`: the
operation and its parameters are read with moto's own botocore-model router and parsers,
mapped to IAM actions and resource ARNs (`operations`) and evaluated against the function's
role statements (`evaluation`). Requests signed with any other key (the operator, a test, the
runtime acting as AWS services) keep moto's behaviour.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from werkzeug.exceptions import HTTPException

from infra.local.iam import authorise_request
from infra.local.iam.errors import Refusal
from infra.local.iam.principals import PRINCIPALS
from infra.local.patches.registry import MOTO_5_2, Patch

logger = logging.getLogger(__name__)

EVALUATION_DOC = ("https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                  "reference_policies_evaluation-logic.html")


def _access_key(response: Any) -> str:
    """The access key id a request is signed with: SigV4 or SigV2, header or query string."""
    authorization = response.headers.get("Authorization") or ""
    if "Credential=" in authorization:
        return authorization.split("Credential=", 1)[1].split("/", 1)[0].strip()
    if authorization.startswith("AWS "):  # SigV2: `AWS <key>:<signature>`
        return authorization[4:].split(":", 1)[0].strip()
    args = response.normalized_request.args
    credential = args.get("X-Amz-Credential") or args.get("AWSAccessKeyId") or ""
    return str(credential).split("/", 1)[0]


def _signing_service(response: Any) -> str:
    """The service the request was signed for (SigV4 credential scope), e.g. `dynamodb`."""
    authorization = response.headers.get("Authorization") or ""
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0] \
        if "Credential=" in authorization \
        else response.normalized_request.args.get("X-Amz-Credential", "")
    parts = scope.split("/")
    return parts[3] if len(parts) > 3 else str(response.boto3_service_name)


@lru_cache(maxsize=None)
def _router(service: str) -> Any:
    from moto.core.routing import get_service_router

    return get_service_router(service)


def _operation_and_params(response: Any) -> tuple[str, dict[str, Any], str]:
    """The botocore operation a request calls, its parameters and the request's protocol."""
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import determine_request_protocol

    request = response.normalized_request
    operation, uri_params = _router(response.boto3_service_name).match(request)
    protocol = determine_request_protocol(operation.service_model, request.content_type)
    parser = PROTOCOL_PARSERS[protocol](operation, map_type=dict)
    params = parser.parse({"method": request.method, "values": request.values,
                           "headers": request.headers, "body": request.get_data(),
                           "url_path": request.path, "url_params": uri_params})
    return operation.name, dict(params), protocol


def _decide(response: Any, s3: bool) -> None:
    principal = PRINCIPALS.by_key(_access_key(response)) if len(PRINCIPALS) else None
    if principal is None:
        return
    service = _signing_service(response)
    request = response.normalized_request
    try:
        operation, params, protocol = _operation_and_params(response)
    except Exception as error:  # a request moto's router cannot name: fail closed
        operation, params = f"<unrecognised request: {type(error).__name__}: {error}>", {}
        protocol = "rest-xml" if s3 else str(getattr(response, "default_protocol", "json"))
    refusal = authorise_request(
        principal, service=service, operation=operation, params=params,
        region=response.region, account=response.current_account, method=request.method,
        path=request.path, protocol=protocol)
    if refusal is not None:
        raise_refusal(response, refusal, s3)


class _Refused(HTTPException):
    """moto's `call_action` answers an HTTPException with its code and description as is."""

    def __init__(self, refusal: Refusal):
        super().__init__(description=refusal.body)
        self.code = refusal.status


def raise_refusal(response: Any, refusal: Refusal, s3: bool) -> None:
    """Answer the refusal in the service's own error shape."""
    if s3:
        from moto.s3.exceptions import S3ClientError

        # S3's own handlers serialise their S3ClientErrors (403 AccessDenied, REST-XML).
        raise S3ClientError("AccessDenied", refusal.message)
    response.response_headers.update(refusal.headers)
    raise _Refused(refusal)


def authorise_by_role() -> None:
    """Decide a function's requests by its role's statements, as IAM does.

    Targets moto >=5.2.5,<5.3: `moto.core.authorization.ActionAuthenticatorMixin.
    _authenticate_and_authorize_normal_action` and `._authenticate_and_authorize_s3_action`.
    AWS: every request is authorised against the caller's identity-based policies: an
    explicit Deny wins, an Allow is needed, and a denied call answers AccessDeniedException
    (or the service's own code and shape) naming the action, the resource and the caller.
    Why: moto evaluates no IAM unless its own simulation is switched on, and that
    simulation checks actions without resources, NotResource or conditions. A request
    signed with a key of a registered principal is decided here first; moto's own check then
    runs unchanged (a no-op in the embedded stack).
    Follows: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    from moto.core.authorization import ActionAuthenticatorMixin

    original_normal = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action
    original_s3 = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action

    def normal(self: Any, resource: str = "*") -> None:
        _decide(self, s3=False)
        original_normal(self, resource)

    def s3_action(self: Any, bucket_name: str | None = None,
                  key_name: str | None = None) -> None:
        _decide(self, s3=True)
        original_s3(self, bucket_name=bucket_name, key_name=key_name)

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = normal  # type: ignore
    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = s3_action  # type: ignore


PATCHES = (Patch(authorise_by_role, (MOTO_5_2,), EVALUATION_DOC),)
