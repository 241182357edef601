"""The embedded stack: the whole gateway on this machine, on loopback only.

moto is the AWS (one endpoint for every client: boto3, the AWS CLI); stage `local` is
provisioned into it from `infra/spec.py`; the local runtime supplies what moto lacks (rule
targets, Lambda invoke, streams, schedules) and `infra.local.patches` hooks it into moto
(and answers TestEventPattern, GetUsage); every AWS call a function makes is decided by
its role's statements (`infra.local.iam`); the API Gateway
adapter serves the partner and portal API; the console and the sample partner are served
by werkzeug. `start()` brings it up, `stop()` takes it down and restores the process
environment.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

from infra.local import iam, patches
from infra.local.apigateway import ApiGateway, partner_api_routes, program_gateway_responses
from infra.local.provision import (
    ProvisionedStage,
    provision_delivery_log,
    provision_event_feeds,
    provision_mail_sender,
    provision_stage,
)
from infra.local.runtime import LocalRuntime, RuntimeSettings
from infra.local.sample_partner import Account, SamplePartner
from infra.local.servers import ServerThread
from infra.local.ses_messages import SES_PATH
from infra.local.sns_messages import EMAIL_PATH, SMS_PATH, DeveloperEndpoints
from infra.local.wiring import ACCOUNT_ID, wire_stage, wiring_environment
from infra.roles import MailSender
from infra.spec import problem_gateway_responses, stage_spec
from partners.core.constants import Env

logger = logging.getLogger(__name__)

LOCAL_STAGE = "local"
LOCAL_REGION = "us-east-1"
# The partner API's id in the embedded stack (the API Gateway stand-in's, not a moto REST API):
# the console flushes its authorizer cache by it (FlushStageAuthorizersCache).
LOCAL_API_ID = "localapi01"
# moto accepts any credentials; these make every client (boto3, the AWS CLI) agree.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
DEMO_FILE = Path(".local/demo.json")
# Who the console's invitation emails come from here: verified in moto's SES at start; what
# SES sent is listed at `/_aws/ses` and on the sample partner's `/end-users` page.
MAIL_SENDER = "Partner Event Gateway <invitations@example.com>"


def _port(variable: str, default: int) -> int:
    value = os.environ.get(variable, "")
    if not value:
        return default
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{variable} must be a TCP port (1-65535), not {value!r}")
    return int(value)


@dataclass
class Ports:
    """Ports of the embedded stack; each can be moved by its environment variable."""

    aws: int = field(default_factory=lambda: _port("PGW_AWS_PORT", 4566))
    console: int = field(default_factory=lambda: _port("PGW_CONSOLE_PORT", 8000))
    api: int = field(default_factory=lambda: _port("PGW_API_PORT", 8001))
    sample_partner: int = field(default_factory=lambda: _port("PGW_SAMPLE_PARTNER_PORT", 8002))


@dataclass
class StackOptions:
    """How the stack runs: what `make run` uses by default, what tests and benchmarks tune."""

    console: bool = True
    demo: bool = True
    demo_file: Path | None = DEMO_FILE
    # Seconds the sample partner waits before each status it posts back.
    status_delay: float = 1.0
    # How long the sample partner hangs in `timeout` mode (EventBridge gives up at 5 s).
    sample_partner_hang_seconds: float = 6.0
    sample_partner_workers: int = 4
    # API Gateway's cache of authorizer results per token, as the cloud's REST API sets it
    # (`AUTHORIZER_CACHE_SECONDS` in infra/cloud/openapi.py); 0 calls the authorizer on
    # every request (a revoked token fails at once).
    authorizer_ttl_seconds: int = 60
    # The local runtime's tuning; None keeps the runtime's own default, which its
    # PGW_LOCAL_* environment variables set (retry backoff scale, delivery workers, HTTP
    # timeout of partner deliveries).
    retry_time_scale: float | None = None
    delivery_timeout: float | None = None
    runtime_workers: int | None = None
    # Each function's AWS calls decided by its role's statements (`infra.local.iam`), as on
    # AWS. `PGW_LOCAL_IAM=off` turns it off, only to measure what the check costs.
    iam: bool = field(default_factory=lambda: os.environ.get("PGW_LOCAL_IAM", "on") != "off")


class EmbeddedStack:
    """Start moto, provision stage `local`, run the runtime and the three web servers."""

    host = "127.0.0.1"

    def __init__(self, ports: Ports | None = None, options: StackOptions | None = None):
        self.ports = ports or Ports()
        self.options = options or StackOptions()
        # Bucket names hold the account and region, as in the cloud (infra/bucket_names.py).
        self.spec = stage_spec(LOCAL_STAGE, account_id=ACCOUNT_ID, region=LOCAL_REGION)
        self.portal_token = secrets.token_urlsafe(32)
        self._moto: Any = None
        self.stage: ProvisionedStage | None = None
        self.runtime: Any = None
        self.gateway: ApiGateway | None = None
        self.sample_partner: SamplePartner | None = None
        self.usage_plan_id: str = ""
        self.mail_sender: MailSender | None = None
        self.demo: dict[str, Any] | None = None
        self._servers: list[ServerThread] = []
        self._saved_environ: dict[str, str] | None = None

    # --- addresses -------------------------------------------------------------------------

    @property
    def aws_endpoint(self) -> str:
        return f"http://{self.host}:{self.ports.aws}"

    @property
    def console_url(self) -> str:
        return f"http://{self.host}:{self.ports.console}"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.ports.api}"

    @property
    def sample_partner_url(self) -> str:
        return f"http://{self.host}:{self.ports.sample_partner}"

    @property
    def end_users_url(self) -> str:
        """The page listing the SMS and emails SNS would have sent to end users."""
        return f"{self.sample_partner_url}/end-users"

    @property
    def sms_messages_url(self) -> str:
        return f"{self.aws_endpoint}{SMS_PATH}"

    @property
    def email_messages_url(self) -> str:
        return f"{self.aws_endpoint}{EMAIL_PATH}"

    @property
    def ses_messages_url(self) -> str:
        """The emails SES sent (the console's invitations), LocalStack's `/_aws/ses`."""
        return f"{self.aws_endpoint}{SES_PATH}"

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=LOCAL_REGION,
        )

    def environment(self) -> dict[str, str]:
        """Variables that point any AWS client of this process (or a child) at the stack."""
        variables = {**LOCAL_CREDENTIALS, "AWS_DEFAULT_REGION": LOCAL_REGION,
                     "AWS_REGION": LOCAL_REGION, "AWS_ENDPOINT_URL": self.aws_endpoint,
                     # http and loopback endpoints (the sample partner): this stack only.
                     Env.ALLOW_INSECURE_ENDPOINTS: "true",
                     Env.PORTAL_TOKEN_HASH: hashlib.sha256(self.portal_token.encode()).hexdigest(),
                     # The console is served over plain http here.
                     "FLASK_SESSION_COOKIE_SECURE": "false",
                     "FLASK_REMEMBER_COOKIE_SECURE": "false"}
        for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE"):
            variables[name] = ""
        if self.stage is not None:
            variables.update(self.stage.environment_variables())
            variables.update(wiring_environment(self.spec, self.stage, LOCAL_REGION))
        if self.usage_plan_id:
            variables[Env.USAGE_PLAN_ID] = self.usage_plan_id
        if self.mail_sender is not None:
            variables[Env.MAIL_SENDER] = MAIL_SENDER
        variables[Env.PARTNER_API_ID] = LOCAL_API_ID
        variables[Env.PARTNER_API_STAGE] = LOCAL_STAGE
        return variables

    def function_environment(self) -> dict[str, str]:
        """What every Lambda function of the stage gets: the stage's variables, no credentials."""
        names = {value for key, value in vars(Env).items() if key.isupper()}
        return {k: v for k, v in self.environment().items() if k in names and v}

    def _apply_environment(self) -> None:
        if self._saved_environ is None:
            self._saved_environ = dict(os.environ)
        for name, value in self.environment().items():
            if value:
                os.environ[name] = value
            else:
                os.environ.pop(name, None)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> EmbeddedStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def check_ports(self) -> None:
        """Refuse to start when a port is taken (moto's server would wait for it forever).

        Raises
        ------
        OSError: naming the port and the variable that moves it.
        """
        for variable, port in (("PGW_AWS_PORT", self.ports.aws),
                               ("PGW_CONSOLE_PORT", self.ports.console),
                               ("PGW_API_PORT", self.ports.api),
                               ("PGW_SAMPLE_PARTNER_PORT", self.ports.sample_partner)):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                # As the servers do: a port in TIME_WAIT is usable, a listening one is not.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((self.host, port))
                except OSError as error:
                    raise OSError(error.errno, f"port {port} is in use ({variable} moves it)"
                                  ) from None

    def _start(self) -> None:
        self.check_ports()
        # Before moto's server starts: it adds the API routes moto lacks (GetUsage), and a
        # moto server builds each service's URL map once, on that service's first request.
        patches.apply()

        # One line per HTTP call drowns what the stack prints; warnings and errors still show.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # moto's server app, with the developer endpoints (what SNS would have sent) in front.
        moto_app = DomainDispatcherApplication(create_backend_app)
        self._moto = ServerThread(DeveloperEndpoints(moto_app), self.ports.aws, host=self.host,
                                  name="aws", request_handler=MotoRequestHandler).start()
        self._apply_environment()
        self.stage = provision_stage(self.spec, session=self.session())
        self.usage_plan_id = self._usage_plan()
        self.mail_sender = provision_mail_sender(MAIL_SENDER, session=self.session())
        self._apply_environment()
        if self.options.iam:
            ids = {"usage_plan": self.usage_plan_id, "partner_api": LOCAL_API_ID,
                   "user_pool": self.stage.user_pool_id}
            iam.register_stage(self.spec, region=LOCAL_REGION, account=ACCOUNT_ID,
                               ids={key: value for key, value in ids.items() if value},
                               mail=self.mail_sender)
        self._start_runtime()
        wire_stage(self.spec, self.stage, self.function_environment(), session=self.session(),
                   region=LOCAL_REGION)
        self.runtime.streams.start_new_mappings()  # `LATEST` mappings see every later write
        # The archive and the data lake's Firehose rule: delivered by the runtime.
        provision_event_feeds(self.spec, self.stage, session=self.session())
        # The bus's own logs -> log group -> subscription -> the delivery indexer.
        provision_delivery_log(self.spec, self.stage, session=self.session())
        self.sample_partner = SamplePartner(
            self.api_url, status_delay=self.options.status_delay,
            developer_endpoint=self.aws_endpoint,
            hang_seconds=self.options.sample_partner_hang_seconds,
            workers=self.options.sample_partner_workers).start()
        self._serve(self.sample_partner.app, self.ports.sample_partner, "sample-partner")
        self.gateway = ApiGateway(
            partner_api_routes({name: self.spec.function_name(name)
                                for name in ("partner_api", "portal_api", "authorizer")},
                               authorizer_type="REQUEST",
                               authorizer_ttl_seconds=self.options.authorizer_ttl_seconds),
            self._invoke, usage=self.runtime.usage, stage=LOCAL_STAGE, api_id=LOCAL_API_ID,
            # The program's gateway responses (problem+json), as the cloud's REST API has them.
            gateway_responses=program_gateway_responses(problem_gateway_responses()))
        patches.serve_authorizer_cache(LOCAL_API_ID, LOCAL_STAGE,
                                       self.gateway.flush_authorizer_cache)
        self._serve(self.gateway, self.ports.api, "api")
        if self.options.console:
            # The console runs as its function (its role's credentials), as on Lambda.
            console = self.spec.function_name("console")
            with iam.acting_as(console):
                app = self._console_app()
            self._serve(iam.acting_app(app, console), self.ports.console, "console")
        if self.options.demo:
            self._create_demo()

    @staticmethod
    def _console_app() -> Any:
        from console import create_app

        return create_app()

    def _serve(self, app: Any, port: int, name: str) -> None:
        self._servers.append(ServerThread(app, port, host=self.host, name=name).start())

    def stop(self, timeout: float = 20.0) -> None:
        """Stop everything and restore the process environment.

        Work still in flight after about `timeout` seconds (a status post, a delivery, an
        invocation) is left to its daemon thread; the servers close their ports regardless.
        """
        deadline = time.monotonic() + timeout

        def left(share: float = 1.0) -> float:
            return max(0.0, (deadline - time.monotonic()) * share)

        for server in reversed(self._servers):
            server.stop()
        self._servers = []
        if self.gateway is not None:
            patches.withdraw_authorizer_cache(LOCAL_API_ID, LOCAL_STAGE)
        if self.sample_partner is not None:
            self.sample_partner.stop(left(0.25))
            self.sample_partner = None
        if self.runtime is not None:
            self.runtime.stop(left(0.8))
            self.runtime = None
        iam.unregister_all()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self._saved_environ is not None:
            os.environ.clear()
            os.environ.update(self._saved_environ)
            self._saved_environ = None

    # --- parts -----------------------------------------------------------------------------

    def _usage_plan(self) -> str:
        """The stage's usage plan (the reconciler attaches each partner key to it)."""
        apigateway = self.session().client("apigateway")
        for plan in apigateway.get_usage_plans().get("items", []):
            if plan["name"] == self.spec.usage_plan_name:
                return str(plan["id"])
        return str(apigateway.create_usage_plan(
            name=self.spec.usage_plan_name,
            description="Partner API throttling and quotas (API key source AUTHORIZER)",
            throttle={"rateLimit": 50.0, "burstLimit": 100},
        )["id"])

    def _start_runtime(self) -> None:
        settings = RuntimeSettings(region=LOCAL_REGION)
        if self.options.retry_time_scale is not None:
            settings.backoff_scale = self.options.retry_time_scale
        if self.options.runtime_workers is not None:
            settings.workers = self.options.runtime_workers
        if self.options.delivery_timeout is not None:
            settings.http_timeout = self.options.delivery_timeout
        self.runtime = LocalRuntime(settings).start()

    def _invoke(self, function: str, event: dict[str, Any]) -> Any:
        return self.runtime.invoke(function, event)

    def reconcile(self, partner_id: str) -> Any:
        """Run the reconciler for one partner, synchronously, as the console's invoke would."""
        return self._invoke(self.spec.function_name("reconciler"), {"partner_id": partner_id})

    def _create_demo(self) -> None:
        from infra.local.demo import Demo, write_demo_file

        result = Demo(os.environ, reconcile=self.reconcile,
                      sample_partner_url=self.sample_partner_url,
                      boto3_session=self.session()).create()
        assert self.sample_partner is not None
        for slug, api_key, tokens in result.sample_accounts:
            self.sample_partner.add_account(Account(slug, api_key, tokens))
        self.demo = {
            "console": self.console_url,
            "partner_api": f"{self.api_url}/v1",
            "aws_endpoint": self.aws_endpoint,
            "sample_partner": self.sample_partner_url,
            "portal_token": self.portal_token,
            **result.data,
        }
        if self.options.demo_file is not None:
            write_demo_file(self.options.demo_file, self.demo)
