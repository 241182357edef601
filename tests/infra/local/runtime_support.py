"""Helpers for the local-runtime tests: a recording HTTP endpoint, a started runtime, moto setup."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import pytest

from infra.local.runtime import LocalRuntime, RuntimeSettings


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Endpoint:
    """A loopback HTTP server that records every request and answers from a script.

    `script` replies are used in order; when it is empty `default` answers.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: deque[Reply | Callable[[Received], Reply]] = deque()
        self.default = Reply()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(self.command, self.path,
                                   {k.lower(): v for k, v in self.headers.items()},
                                   self.rfile.read(length))
                endpoint.received.append(request)
                reply = endpoint.script.popleft() if endpoint.script else endpoint.default
                if callable(reply):
                    reply = reply(request)
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                try:
                    self.wfile.write(reply.body)
                except OSError:
                    pass

            do_POST = do_GET = do_PUT = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Endpoint:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def endpoint():
    server = Endpoint().start()
    yield server
    server.stop()


@pytest.fixture
def runtime(aws):
    """A started runtime over the test's moto, with tiny waits (scale 1e-4)."""
    started = LocalRuntime(RuntimeSettings(backoff_scale=0.0001, workers=4,
                                           stream_interval=0.01)).start()
    yield started
    started.stop()


def tiny_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def create_function(session: Any, name: str, *, handler: str = "placeholder.handler",
                    environment: dict[str, str] | None = None) -> str:
    """A function in moto (so it has an ARN); the runtime runs whatever handler is registered."""
    iam = session.client("iam")
    try:
        role = iam.get_role(RoleName="runtime-test")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="runtime-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return session.client("lambda").create_function(
        FunctionName=name, Runtime="python3.11", Role=role, Handler=handler,
        Code={"ZipFile": tiny_zip()}, Environment={"Variables": environment or {}},
    )["FunctionArn"]


def create_queue(session: Any, name: str) -> tuple[str, str]:
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive_all(session: Any, url: str) -> list[dict[str, Any]]:
    sqs = session.client("sqs")
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
