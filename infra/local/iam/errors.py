"""A refused request, in the shape the service's own protocol answers it.

- JSON protocols (DynamoDB, EventBridge, Secrets Manager, Cognito, SQS, ...): HTTP 400 with
  `{"__type": "com.amazon.coral.service#AccessDeniedException", "message": ...}`
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html,
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html). SQS, a
  query-compatible JSON service, also names its query code in `x-amzn-query-error`
  (`AccessDenied;Sender`; https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html).
- Query protocols answer `<ErrorResponse><Error><Type>Sender</Type><Code>..</Code>` with
  HTTP 403: SNS's code is `AuthorizationError`
  (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_Errors), the
  others' `AccessDenied` (https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html).
- REST-JSON (API Gateway, Lambda): HTTP 403, `AccessDeniedException` in
  `x-amzn-ErrorType` and a `message` body
  (https://docs.aws.amazon.com/apigateway/latest/api/CommonErrors.html,
  https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors).
- S3 (REST-XML): 403 `AccessDenied` (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).

The message is IAM's: "User: <assumed-role ARN> is not authorized to perform: <action> on
resource: <arn> because no identity-based policy allows the <action> action" (or "with an
explicit deny in an identity-based policy")
(https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from infra.local.iam.evaluation import Decision, Denial

QUERY_CODES = {"sns": "AuthorizationError"}
QUERY_COMPATIBLE_JSON = frozenset({"sqs"})


def denial_message(caller_arn: str, denial: Denial) -> str:
    reason = ("with an explicit deny in an identity-based policy"
              if denial.decision is Decision.EXPLICIT_DENY
              else f"because no identity-based policy allows the {denial.action} action")
    return (f"User: {caller_arn} is not authorized to perform: {denial.action} on resource: "
            f"{denial.resource} {reason}")


@dataclass(frozen=True)
class Refusal:
    """What the AWS side answers: status, body, extra headers, and the message in it."""

    status: int
    body: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def refusal(service: str, protocol: str, message: str) -> Refusal:
    """The refusal of `service` (IAM prefix) speaking `protocol` (botocore's name)."""
    if protocol == "json":
        headers = {"Content-Type": "application/x-amz-json-1.0"}
        if service in QUERY_COMPATIBLE_JSON:
            headers["x-amzn-query-error"] = "AccessDenied;Sender"
        error = {"__type": "com.amazon.coral.service#AccessDeniedException", "message": message}
        return Refusal(400, json.dumps(error), message, headers)
    if protocol in ("query", "ec2"):
        code = QUERY_CODES.get(service, "AccessDenied")
        document = ("<ErrorResponse><Error><Type>Sender</Type>"
                    f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
                    "<RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
                    "</ErrorResponse>")
        return Refusal(403, document, message, {"Content-Type": "text/xml"})
    if protocol == "rest-json":
        return Refusal(403, json.dumps({"message": message}), message,
                       {"Content-Type": "application/json",
                        "x-amzn-ErrorType": "AccessDeniedException"})
    document = (f"<Error><Code>AccessDenied</Code><Message>{escape(message)}</Message>"
                "<RequestId>0000000000000000</RequestId></Error>")
    return Refusal(403, document, message, {"Content-Type": "application/xml"})
