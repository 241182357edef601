"""Demo data for the embedded stack, made through the same domain APIs the console uses.

An admin; two approved partners, one pushing to the sample partner (API key auth) and one
polling its inbox; one partner awaiting approval. Users are Cognito users (moto) in the
`admins` / `partners` groups, partners are created and moved through their lifecycle by the
`PartnerRegistry`, the endpoint API key is kept by the `CredentialStore` (Secrets Manager),
every action is audited, the reconciler turns the approved ones into routing, and each
environment gets an API token from the `TokenStore`. Passwords and tokens are drawn afresh
for every run and written only to `.local/demo.json` (git-ignored) and the terminal.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import boto3

from partners.core.aws import client
from partners.core.clock import isoformat, utc_now
from partners.core.constants import Env
from partners.onboarding import (
    AuditLog,
    AuthType,
    CredentialStore,
    DeliveryMode,
    EndpointAuth,
    Member,
    MemberStore,
    PartnerEnvironment,
    PartnerRegistry,
    PartnerStatus,
    RequestFilter,
    RetryPolicy,
    Role,
    TokenStore,
    parse_filter,
    validate_environment,
)

ADMIN_EMAIL = "admin@example.com"
API_KEY_HEADER = "X-Api-Key"
DEMO_ACTOR = "system:demo"


@dataclass(frozen=True)
class DemoPartner:
    """One demo partner: who signs in, how it receives, what it wants."""

    slug: str
    name: str
    email: str
    mode: DeliveryMode
    status: PartnerStatus
    filters: Mapping[str, Mapping[str, Any]]  # environment -> filter JSON form
    retry_policies: Mapping[str, RetryPolicy] = field(default_factory=dict)
    # Members besides the owner: (email, role); each gets a login of their own.
    members: tuple[tuple[str, str], ...] = ()


DEMO_PARTNERS = (
    # Push: delivery quotes and stock checks in Europe. Its `test` environment gives up
    # after two retries, so a failing endpoint reaches the dead-letter queue within seconds.
    DemoPartner(
        "acme-logistics", "Acme Logistics", "acme@example.com", DeliveryMode.PUSH,
        PartnerStatus.APPROVED,
        filters={env: {"request_types": ["delivery.quote", "stock.check"],
                       "conditions": [{"attribute": "region", "operator": "prefix",
                                       "values": ["eu-"]}]} for env in ("prod", "test")},
        retry_policies={"test": RetryPolicy(maximum_event_age_seconds=600,
                                            maximum_retry_attempts=2)},
        members=(("acme-viewer@example.com", "viewer"),),
    ),
    # Poll: every stock check, anywhere; it pages `GET /v1/requests?status=pending`.
    DemoPartner(
        "globex-parts", "Globex Parts", "globex@example.com", DeliveryMode.POLL,
        PartnerStatus.APPROVED,
        filters={env: {"request_types": ["stock.check"], "conditions": []}
                 for env in ("prod", "test")},
    ),
    # Submitted, waiting for an admin: no routing, no tokens yet.
    DemoPartner(
        "initech-repairs", "Initech Repairs", "initech@example.com", DeliveryMode.PUSH,
        PartnerStatus.PENDING_APPROVAL,
        filters={"test": {"request_types": ["repair.booking"], "conditions": []}},
    ),
)


def demo_password() -> str:
    """A fresh password that meets the user pool's policy (12+, upper, lower, digit)."""
    return f"Demo-{secrets.token_hex(6)}-Pw9"


@dataclass
class DemoResult:
    """What `make run` prints and writes to `.local/demo.json`."""

    data: dict[str, Any]
    # Per push partner: (slug, api key value, {environment: API token}) for the sample partner.
    sample_accounts: list[tuple[str, str, dict[str, str]]]


class Demo:
    """Create the demo data in a provisioned stage.

    Parameters
    ----------
    environ: the stage's variables (table names, user pool, secret prefix).
    reconcile: runs the reconciler for one partner id, synchronously.
    sample_partner_url: base URL of the sample partner (push endpoints point there).
    """

    def __init__(self, environ: Mapping[str, str], *, reconcile: Callable[[str], Any],
                 sample_partner_url: str, boto3_session: boto3.session.Session | None = None):
        self.environ = environ
        self.reconcile = reconcile
        self.sample_partner_url = sample_partner_url.rstrip("/")
        self.session = boto3_session
        self.registry = PartnerRegistry(environ[Env.PARTNERS_TABLE], boto3_session=boto3_session)
        self.tokens = TokenStore(environ[Env.TOKENS_TABLE], boto3_session=boto3_session)
        self.credentials = CredentialStore(environ[Env.SECRET_PREFIX], boto3_session=boto3_session)
        self.audit = AuditLog(environ[Env.AUDIT_TABLE], boto3_session=boto3_session)
        self.members = MemberStore(environ[Env.PARTNERS_TABLE], boto3_session=boto3_session)
        self.cognito = client("cognito-idp", boto3_session)
        self.pool_id = environ[Env.USER_POOL_ID]
        self.environments = tuple(e for e in environ.get(
            Env.PARTNER_ENVIRONMENTS, "prod,test,dev").split(",") if e)

    def create_user(self, email: str, password: str, group: str) -> str:
        """A confirmed Cognito user with a permanent password in `group`; returns its sub."""
        user = self.cognito.admin_create_user(
            UserPoolId=self.pool_id, Username=email, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email},
                            {"Name": "email_verified", "Value": "true"}])["User"]
        self.cognito.admin_set_user_password(UserPoolId=self.pool_id, Username=user["Username"],
                                             Password=password, Permanent=True)
        self.cognito.admin_add_user_to_group(UserPoolId=self.pool_id,
                                             Username=user["Username"], GroupName=group)
        attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
        return attributes.get("sub", user["Username"])

    def _environment(self, partner_id: str, demo: DemoPartner, name: str,
                     api_key: str) -> PartnerEnvironment:
        request_filter: RequestFilter = parse_filter(demo.filters[name])
        environment = PartnerEnvironment(
            name=name, mode=demo.mode, filter=request_filter, rate_limit_per_second=50,
            retry_policy=demo.retry_policies.get(name, RetryPolicy()))
        if demo.mode is DeliveryMode.PUSH:
            stored = self.credentials.put(partner_id, name, AuthType.API_KEY, api_key,
                                          set_on=isoformat(utc_now()))
            environment = replace(
                environment, endpoint_url=f"{self.sample_partner_url}/deliveries",
                auth=EndpointAuth(AuthType.API_KEY, header_name=API_KEY_HEADER,
                                  secret_arn=stored.arn, secret_set_on=stored.set_on))
        return validate_environment(environment, allowed_names=self.environments,
                                    allow_insecure=True)

    def _members(self, partner_id: str, demo: DemoPartner) -> list[dict[str, str]]:
        """Add the partner's other members (each a login of their own), as if invited."""
        created = []
        for email, role in demo.members:
            password = demo_password()
            user_id = self.create_user(email, password, "partners")
            self.members.add(Member(partner_id=partner_id, user_id=user_id, email=email,
                                    role=Role(role), joined_at=isoformat(utc_now()),
                                    invited_by=f"user:{demo.email}"))
            self.audit.record(actor=f"user:{email}", action="member.joined",
                              target=f"partner:{partner_id}",
                              after={"email": email, "role": role})
            created.append({"email": email, "password": password, "role": role})
        return created

    def create(self) -> DemoResult:
        """Create every demo user and partner; reconcile and issue tokens for approved ones."""
        admin_password = demo_password()
        self.create_user(ADMIN_EMAIL, admin_password, "admins")
        admin_actor = f"user:{ADMIN_EMAIL}"
        partners: list[dict[str, Any]] = []
        accounts: list[tuple[str, str, dict[str, str]]] = []
        for demo in DEMO_PARTNERS:
            password = demo_password()
            owner = self.create_user(demo.email, password, "partners")
            partner = self.registry.create_partner(display_name=demo.name,
                                                   contact_email=demo.email, slug=demo.slug,
                                                   owner=owner, owner_email=demo.email)
            self.audit.record(actor=f"user:{demo.email}", action="partner.created",
                              target=f"partner:{partner.id}", after=partner.to_dict())
            api_key = secrets.token_urlsafe(24)
            for name in demo.filters:
                partner = partner.with_environment(
                    self._environment(partner.id, demo, name, api_key))
            partner = self.registry.save_partner(partner)
            self.audit.record(actor=f"user:{demo.email}", action="environment.updated",
                              target=f"partner:{partner.id}", after=partner.to_dict())
            partner = self.registry.transition(partner, PartnerStatus.PENDING_APPROVAL)
            self.audit.record(actor=f"user:{demo.email}", action="partner.submitted",
                              target=f"partner:{partner.id}")
            issued: dict[str, str] = {}
            if demo.status is PartnerStatus.APPROVED:
                partner = self.registry.transition(partner, PartnerStatus.APPROVED)
                self.audit.record(actor=admin_actor, action="partner.approved",
                                  target=f"partner:{partner.id}")
                for name in demo.filters:
                    issued[name] = self.tokens.issue(partner.id, name, name="demo").token
                self.reconcile(partner.id)
                if demo.mode is DeliveryMode.PUSH:
                    accounts.append((demo.slug, api_key, dict(issued)))
            partners.append({
                "id": partner.id, "name": demo.name, "slug": demo.slug,
                "mode": demo.mode.value, "status": partner.status.value,
                "login": {"email": demo.email, "password": password},
                "members": self._members(partner.id, demo),
                "environments": {name: {"api_token": issued.get(name),
                                        "filter": dict(demo.filters[name])}
                                 for name in demo.filters},
            })
        data = {"admin": {"email": ADMIN_EMAIL, "password": admin_password},
                "partners": partners}
        return DemoResult(data=data, sample_accounts=accounts)


def write_demo_file(path: Path, data: Mapping[str, Any]) -> Path:
    """Write `data` as JSON readable by the owner only (it holds passwords and tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    temporary.chmod(0o600)
    temporary.replace(path)
    return path
