"""The embedded stack in its own process, on free ports, for the end-to-end tests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120


class Stack:
    """URLs, demo logins and tokens of a running embedded stack, and HTTP helpers."""

    def __init__(self, demo: dict[str, Any]):
        self.demo = demo
        self.api = demo["partner_api"]
        self.console = demo["console"]
        self.aws = demo["aws_endpoint"]
        self.sample = demo["sample_partner"]
        self.inspector = demo["inspector"]
        self.http = requests.Session()

    def partner(self, slug: str) -> dict[str, Any]:
        return next(p for p in self.demo["partners"] if p["slug"] == slug)

    def token(self, slug: str, environment: str) -> str:
        return self.partner(slug)["environments"][environment]["api_token"]

    def portal(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.demo['portal_token']}",
                   **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.api}/portal{path}", headers=headers,
                                 timeout=30, **kwargs)

    def as_partner(self, slug: str, environment: str, method: str, path: str,
                   **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token(slug, environment)}",
                   **kwargs.pop("headers", {})}
        base = self.api.removesuffix("/v1")
        return self.http.request(method, f"{base}{path}", headers=headers, timeout=30,
                                 **kwargs)

    def create_request(self, environment: str, request_type: str, region: str,
                       user_id: str = "user-e2e") -> str:
        response = self.portal("POST", "/requests", json={
            "environment": environment, "request_type": request_type, "user_id": user_id,
            "attributes": {"region": region}})
        assert response.status_code == 202, response.text
        return response.json()["request_id"]

    def idle(self, timeout: float = 30) -> None:
        """Wait until the runtime and the sample partner have nothing left to do."""
        answer = self.http.get(f"{self.inspector}/idle", params={"timeout": timeout},
                               timeout=timeout * 3 + 10).json()
        assert answer["idle"], "the stack did not settle"

    def received(self, **params: Any) -> dict[str, Any]:
        return self.http.get(f"{self.sample}/received", params=params, timeout=10).json()

    def sms(self) -> list[dict[str, Any]]:
        return self.http.get(f"{self.inspector}/sms", timeout=10).json()

    def topic_messages(self) -> list[dict[str, Any]]:
        return self.http.get(f"{self.inspector}/topics", timeout=10).json()

    def console_session(self, email: str, password: str) -> ConsoleSession:
        return ConsoleSession(self.console, email, password)


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class ConsoleSession:
    """A logged-in console user, over HTTP, with the forms' CSRF tokens."""

    def __init__(self, url: str, email: str, password: str):
        self.url = url
        self.http = requests.Session()
        response = self.post("/auth/login", "/auth/login", {"email": email, "password": password})
        assert response.status_code == 200 and "/auth/login" not in response.url, response.text

    def csrf(self, page: str) -> str:
        response = self.http.get(self.url + page, timeout=30)
        assert response.status_code == 200, (page, response.status_code)
        match = _CSRF.search(response.text)
        assert match, f"no CSRF token on {page}"
        return match.group(1) or match.group(2)

    def post(self, page: str, action: str, data: dict[str, Any]) -> requests.Response:
        return self.http.post(self.url + action, data={**data, "csrf_token": self.csrf(page)},
                              timeout=60)

    def get(self, page: str) -> requests.Response:
        return self.http.get(self.url + page, timeout=30)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """`make run`'s stack on free ports, its demo data read from the demo file."""
    folder = tmp_path_factory.mktemp("stack")
    demo_file = folder / "demo.json"
    ports = {name: free_port() for name in ("aws", "console", "api", "sample-partner",
                                            "inspector")}
    command = [sys.executable, "-m", "tests.e2e.stack_process", "--demo-file", str(demo_file)]
    for name, port in ports.items():
        command += [f"--{name}-port", str(port)]
    environment = {**os.environ, "PGW_LOCAL_BACKOFF_SCALE": "0.01",
                   "PGW_LOCAL_HTTP_TIMEOUT": "1", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    log = (folder / "stack.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while not demo_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the stack did not start:\n"
                               + (folder / "stack.log").read_text()[-4000:])
        time.sleep(0.2)
    yield Stack(json.loads(demo_file.read_text()))
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    log.close()
