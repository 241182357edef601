"""The embedded stack's settings: ports from the environment, taken ports refused early."""

from __future__ import annotations

import socket

import pytest

from infra.local.__main__ import describe
from infra.local.servers import free_port
from infra.local.stack import EmbeddedStack, Ports, StackOptions


@pytest.mark.parametrize("variables, expected", [
    ({}, (4566, 8000, 8001, 8002)),
    ({"PGW_AWS_PORT": "14566", "PGW_SAMPLE_PARTNER_PORT": "18002"}, (14566, 8000, 8001, 18002)),
    ({"PGW_CONSOLE_PORT": "", "PGW_API_PORT": "9001"}, (4566, 8000, 9001, 8002)),
])
def test_ports_come_from_their_variables(monkeypatch, variables, expected):
    for name in ("PGW_AWS_PORT", "PGW_CONSOLE_PORT", "PGW_API_PORT", "PGW_SAMPLE_PARTNER_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    ports = Ports()
    assert (ports.aws, ports.console, ports.api, ports.sample_partner) == expected


@pytest.mark.parametrize("value", ["abc", "0", "65536", "-1", "80.5"])
def test_a_port_variable_that_is_not_a_port_is_refused(monkeypatch, value):
    monkeypatch.setenv("PGW_API_PORT", value)
    with pytest.raises(ValueError, match="PGW_API_PORT must be a TCP port"):
        Ports()


def test_a_taken_port_is_refused_before_anything_starts():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stack = EmbeddedStack(Ports(aws=free_port(), console=free_port(), api=port,
                                    sample_partner=free_port()))
        with pytest.raises(OSError, match=f"port {port} is in use \\(PGW_API_PORT moves it\\)"):
            stack.check_ports()


def test_the_banner_names_every_url_and_login():
    stack = EmbeddedStack(Ports(1, 2, 3, 4), StackOptions())
    stack.demo = {"admin": {"email": "admin@example.com", "password": "Pw-admin-1"},
                  "partners": [{"name": "Acme", "mode": "push", "status": "pending_approval",
                                "login": {"email": "acme@example.com", "password": "Pw-acme-1"},
                                "members": [{"email": "viewer@example.com",
                                             "password": "Pw-viewer-1", "role": "viewer"}]}]}
    text = describe(stack)
    for expected in ("http://127.0.0.1:2", "http://127.0.0.1:3/v1", "http://127.0.0.1:4",
                     "http://127.0.0.1:1", "admin@example.com / Pw-admin-1",
                     "Acme (push, pending approval)", "acme@example.com / Pw-acme-1",
                     "Acme (viewer)", "viewer@example.com / Pw-viewer-1",
                     ".local/demo.json"):
        assert expected in text
