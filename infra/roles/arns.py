"""ARN templates of the stage's resources (fields: `infra.roles.context`).

Formats follow the Service Authorization Reference's resource types of each service; every
template starts with `arn:{partition}:`, so a stage in aws-cn or aws-us-gov gets its own.
"""

from __future__ import annotations


def arn(service: str, resource: str, *, region: str = "{region}",
        account: str = "{account}") -> str:
    """`arn:<partition>:<service>:<region>:<account>:<resource>` (region/account may be '')."""
    return f"arn:{{partition}}:{service}:{region}:{account}:{resource}"


def table(logical: str) -> str:
    return arn("dynamodb", f"table/{{table[{logical}]}}")


def table_indexes(logical: str) -> str:
    return arn("dynamodb", f"table/{{table[{logical}]}}/index/*")


def table_stream(logical: str) -> str:
    """Any stream of the table (the label is assigned when the stream is enabled)."""
    return arn("dynamodb", f"table/{{table[{logical}]}}/stream/*")


def queue(logical: str) -> str:
    return arn("sqs", f"{{queue[{logical}]}}")


def topic(logical: str) -> str:
    return arn("sns", f"{{topic[{logical}]}}")


def bucket(logical: str) -> str:
    return arn("s3", f"{{bucket[{logical}]}}", region="", account="")


def objects(logical: str) -> str:
    return arn("s3", f"{{bucket[{logical}]}}/*", region="", account="")


def function(logical: str) -> str:
    return arn("lambda", f"function:{{function[{logical}]}}")


def log_group(name: str) -> str:
    """A log group and every stream in it (`name` may hold fields)."""
    return arn("logs", f"log-group:{name}:*")


def bus() -> str:
    return arn("events", "event-bus/{bus}")


def rules(name_pattern: str) -> str:
    """Rules on the stage's bus whose names match `name_pattern`."""
    return arn("events", f"rule/{{bus}}/{name_pattern}")


def connections(name_pattern: str) -> str:
    return arn("events", f"connection/{name_pattern}")


def api_destinations(name_pattern: str) -> str:
    """API destinations (their ARNs end `/<name>/<uuid>`)."""
    return arn("events", f"api-destination/{name_pattern}")


def firehose() -> str:
    return arn("firehose", "deliverystream/{firehose}")


def secrets(name_pattern: str) -> str:
    return arn("secretsmanager", f"secret:{name_pattern}")


def role(role_key: str) -> str:
    return arn("iam", f"role/{{role[{role_key}]}}", region="")


def apigateway(path: str) -> str:
    """An API Gateway management resource (`/usageplans/..`, `/apikeys/..`, `/restapis/..`)."""
    return arn("apigateway", path, account="")


def user_pool() -> str:
    return arn("cognito-idp", "userpool/{id[user_pool]}")


def topics_key() -> str:
    return arn("kms", "key/{id[topics_key]}")


def execute_api(path: str) -> str:
    return arn("execute-api", path)


def managed_policy(path: str) -> str:
    """An AWS managed policy (account `aws`)."""
    return arn("iam", f"policy/{path}", region="", account="aws")


def queue_pattern(name_pattern: str) -> str:
    """Queues whose names match `name_pattern`."""
    return arn("sqs", name_pattern)
