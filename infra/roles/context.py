"""Where a role's ARN templates are resolved: partition, region, account, the stage's names.

A template is a string with `str.format` fields; `ArnContext.fields()` supplies them:

- `{partition}` `{region}` `{account}` `{stage}` `{prefix}` (`pgw-<stage>`)
- `{bus}`, `{archive}`, `{firehose}`, `{datalake_rule}`, `{partner_prefix}` (`pgw-<stage>-pt-`),
  `{secret_prefix}` (`pgw/<stage>/partners/`), `{console_secret}` (the console's session
  key secret's name)
- `{table[<logical>]}`, `{queue[..]}`, `{topic[..]}`, `{bucket[..]}`, `{function[..]}` and
  `{role[..]}` (IAM role names, `infra.roles.ROLE_NAMES`): names from `infra.spec`
- `{id[<key>]}`: identifiers AWS assigns at deploy time (`DEPLOY_IDS`). An id the context
  does not hold resolves to `*` (any), unless the context is `strict` (the Pulumi program's
  is): then it is an error.
- `{mail[address]}`, `{mail[identity]}`: the console's invitation sender (`MailSender`), only
  in a context that has one (a stage that sends no mail grants no SES action).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from infra.roles.names import role_names
from infra.spec import StageSpec

# Identifiers AWS assigns when the stage is deployed, which some statements name.
DEPLOY_IDS = {
    "usage_plan": "the partner API's default usage plan id",
    "partner_api": "the partner REST API's id",
    "portal_api": "the portal REST API's id",
    "user_pool": "the Cognito user pool's id",
    "topics_key": "the KMS key id of the stage's topics",
}
# An id the context does not know: any value (a local stack that has not made one).
ANY_ID = "*"


class MissingDeployId(KeyError):
    """A strict context was asked for a deploy-time id it does not hold."""


class _Ids(dict[str, str]):
    def __init__(self, values: Mapping[str, str], strict: bool) -> None:
        super().__init__(values)
        self.strict = strict

    def __missing__(self, key: str) -> str:
        if key not in DEPLOY_IDS:
            raise KeyError(f"unknown deploy-time id {key!r} (known: {sorted(DEPLOY_IDS)})")
        if self.strict:
            raise MissingDeployId(f"the context holds no {key!r} id ({DEPLOY_IDS[key]})")
        return ANY_ID


@dataclass(frozen=True)
class MailSender:
    """Who the console's emails (invitations) come from: the `From` address as IAM's
    `ses:FromAddress` sees it (the address alone, no display name) and the ARN of the
    verified SES identity (the address, or its domain) it sends as."""

    address: str
    identity_arn: str


@dataclass(frozen=True)
class ArnContext:
    """Partition, region and account of a deployment, the stage's spec, deploy-time ids.

    `names` overrides a spec name where the deployment chose another (`bucket.<logical>` for
    a bucket whose name carries a generated suffix). `mail` is the stage's sender of the
    console's emails, None where the stage sends none.
    """

    partition: str
    region: str
    account: str
    spec: StageSpec
    ids: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    strict: bool = False
    mail: MailSender | None = None

    def fields(self) -> dict[str, Any]:
        """The `str.format` fields every template may use."""
        spec = self.spec
        return {
            "partition": self.partition,
            "region": self.region,
            "account": self.account,
            "stage": spec.stage,
            "prefix": spec.prefix,
            "bus": spec.bus_name,
            "archive": spec.archive_name,
            "firehose": spec.datalake_stream_name,
            "datalake_rule": spec.datalake_rule_name,
            "partner_prefix": spec.partner_resource_prefix,
            "secret_prefix": spec.secret_prefix,
            "console_secret": spec.console_session_secret_name,
            "table": {k: t.name for k, t in spec.tables.items()},
            "queue": {k: q.name for k, q in spec.queues.items()},
            "topic": {k: t.name for k, t in spec.topics.items()},
            "bucket": {k: self.names.get(f"bucket.{k}", b.name)
                       for k, b in spec.buckets.items()},
            "function": {k: f.name for k, f in spec.functions.items()},
            "role": role_names(spec),
            "id": _Ids(self.ids, self.strict),
            **({"mail": {"address": self.mail.address, "identity": self.mail.identity_arn}}
               if self.mail is not None else {}),
        }

    def render(self, value: Any) -> Any:
        """`value` with every template string in it resolved (lists and dicts walked)."""
        return _render(value, self.fields())


def _render(value: Any, fields: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format_map(fields)
    if isinstance(value, (list, tuple)):
        return [_render(item, fields) for item in value]
    if isinstance(value, Mapping):
        return {_render(key, fields): _render(item, fields) for key, item in value.items()}
    return value
