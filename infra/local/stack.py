"""The embedded stack: moto as the AWS endpoint, with the stage provisioned from the spec."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import boto3

from infra.local.provision import ProvisionedStage, provision_stage
from infra.spec import stage_spec

LOCAL_STAGE = "local"
LOCAL_REGION = "us-east-1"
# moto accepts any credentials; these make every client (boto3, the AWS CLI) agree.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@dataclass
class Ports:
    """Ports of the embedded stack; each can be moved by its environment variable."""

    aws: int = field(default_factory=lambda: int(os.environ.get("PGW_AWS_PORT", 4566)))
    console: int = field(default_factory=lambda: int(os.environ.get("PGW_CONSOLE_PORT", 8000)))
    api: int = field(default_factory=lambda: int(os.environ.get("PGW_API_PORT", 8001)))
    sample_partner: int = field(
        default_factory=lambda: int(os.environ.get("PGW_SAMPLE_PARTNER_PORT", 8002)))


class EmbeddedStack:
    """Start moto on loopback and provision stage `local` into it."""

    host = "127.0.0.1"

    def __init__(self, ports: Ports | None = None):
        self.ports = ports or Ports()
        self.spec = stage_spec(LOCAL_STAGE)
        self._moto = None
        self.stage: ProvisionedStage | None = None

    @property
    def aws_endpoint(self) -> str:
        return f"http://{self.host}:{self.ports.aws}"

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=LOCAL_REGION,
        )

    def environment(self) -> dict[str, str]:
        """Variables that point any AWS client of this process (or a child) at the stack."""
        variables = {**LOCAL_CREDENTIALS, "AWS_DEFAULT_REGION": LOCAL_REGION,
                     "AWS_REGION": LOCAL_REGION, "AWS_ENDPOINT_URL": self.aws_endpoint}
        if self.stage is not None:
            variables.update(self.stage.environment_variables())
        return variables

    def start(self) -> EmbeddedStack:
        from moto.server import ThreadedMotoServer

        # One line per AWS call drowns what the stack prints; warnings and errors still show.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

        self._moto = ThreadedMotoServer(ip_address=self.host, port=self.ports.aws, verbose=False)
        self._moto.start()
        os.environ.update(self.environment())
        self.stage = provision_stage(self.spec, session=self.session())
        os.environ.update(self.environment())
        return self

    def stop(self) -> None:
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
