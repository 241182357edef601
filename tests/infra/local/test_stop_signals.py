"""`make run` stops on one SIGTERM or one Ctrl-C (SIGINT), within 5 s, every time.

Each test starts `python -m infra.local` as `make run` does, in its own process on free ports,
waits for its banner, sends one signal and checks that the process is gone within 5 s and
every port it served is free again. SIGINT is also sent to a process started with SIGINT
ignored, as a shell starts a background job (`make run &`): Python then installs no
KeyboardInterrupt handler of its own.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from infra.local.servers import free_port
from infra.local.stopping import StopSignals, stop_within

ROOT = Path(__file__).resolve().parents[3]
STOP_SECONDS = 5.0
START_SECONDS = 120.0
BANNER = "Press Ctrl-C to stop."
PORT_VARIABLES = ("PGW_AWS_PORT", "PGW_CONSOLE_PORT", "PGW_API_PORT", "PGW_SAMPLE_PARTNER_PORT")


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _start(tmp_path: Path, *, sigint_ignored: bool,
           demo: bool) -> tuple[subprocess.Popen, list[int], Path]:
    ports = [free_port() for _ in PORT_VARIABLES]
    environment = {**os.environ, **dict(zip(PORT_VARIABLES, map(str, ports))),
                   "PYTHONUNBUFFERED": "1"}
    log = tmp_path / f"run-{time.monotonic_ns()}.log"
    command = [sys.executable, "-m", "infra.local", "--demo-file", str(tmp_path / "demo.json"),
               "--status-delay", "0.05"] + ([] if demo else ["--no-demo"])
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=output,
                                   stderr=subprocess.STDOUT,
                                   preexec_fn=_ignore_sigint if sigint_ignored else None)
    deadline = time.monotonic() + START_SECONDS
    while BANNER not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("make run did not start:\n" + log.read_text()[-4000:])
        time.sleep(0.2)
    assert all(_listening(port) for port in ports)
    return process, ports, log


def _stop(process: subprocess.Popen, ports: list[int], log: Path, signum: int) -> None:
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        code = process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"still running {STOP_SECONDS:g} s after {signal.Signals(signum).name}:\n"
                    + log.read_text()[-4000:])
    took = time.monotonic() - sent
    assert code == 0, log.read_text()[-4000:]
    assert took < STOP_SECONDS
    assert [port for port in ports if _listening(port)] == []
    assert "Stopping..." in log.read_text()


@pytest.mark.parametrize("round_", range(3))
def test_one_sigterm_stops_everything(tmp_path, round_):
    process, ports, log = _start(tmp_path, sigint_ignored=False, demo=False)
    _stop(process, ports, log, signal.SIGTERM)


@pytest.mark.parametrize("round_", range(3))
def test_one_sigint_stops_a_background_job_that_inherited_sigint_ignored(tmp_path, round_):
    process, ports, log = _start(tmp_path, sigint_ignored=True, demo=False)
    _stop(process, ports, log, signal.SIGINT)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_demo_stack_stops_on_one_signal_while_partners_are_busy(tmp_path, signum):
    """With the demo, and requests in flight: deliveries, invocations, status posts."""
    process, ports, log = _start(tmp_path, sigint_ignored=True, demo=True)
    demo = json.loads((tmp_path / "demo.json").read_text())
    for _ in range(5):
        answer = requests.post(f"{demo['partner_api']}/portal/requests", timeout=30,
                               headers={"Authorization": f"Bearer {demo['portal_token']}"},
                               json={"environment": "test", "request_type": "stock.check",
                                     "user_id": "u1", "attributes": {"region": "eu-west-1"}})
        assert answer.status_code == 202, answer.text
    time.sleep(0.3)  # the deliveries and the sample partner's status posts are under way
    _stop(process, ports, log, signum)


def test_a_signal_during_startup_stops_it_too(tmp_path):
    ports = [free_port() for _ in PORT_VARIABLES]
    environment = {**os.environ, **dict(zip(PORT_VARIABLES, map(str, ports)))}
    log = tmp_path / "early.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local", "--demo-file", str(tmp_path / "demo.json")],
            cwd=ROOT, env={**environment, "PYTHONUNBUFFERED": "1"}, stdout=output,
            stderr=subprocess.STDOUT, preexec_fn=_ignore_sigint)
    deadline = time.monotonic() + START_SECONDS
    while "Starting the embedded stack" not in log.read_text():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    time.sleep(0.5)  # well inside provisioning
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail("still starting 5 s after SIGINT:\n" + log.read_text()[-4000:])
    assert [port for port in ports if _listening(port)] == []


# --- the pieces, in this process ------------------------------------------------------------

def test_the_handlers_replace_an_inherited_sig_ign_and_only_record_the_signal():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    exits: list[int] = []
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stopper = StopSignals(exit_now=exits.append).install()
        assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGINT)
        stopper.wait(poll=0.01)  # returns: the handler ran and recorded the signal
        assert stopper.received == signal.SIGINT and exits == []
        os.kill(os.getpid(), signal.SIGTERM)  # a second signal ends the process at once
        deadline = time.monotonic() + 5
        while not exits and time.monotonic() < deadline:
            time.sleep(0.01)
        assert exits == [128 + signal.SIGTERM]
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def test_the_watchdog_ends_a_stop_that_overruns():
    exits: list[int] = []
    stop_within(0.05, lambda: time.sleep(0.3), exit_now=exits.append).join(2)
    assert exits == [1]
