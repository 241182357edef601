"""`make run`: the whole gateway on this machine, stopped by one Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import traceback
from pathlib import Path

from infra.local.stack import DEMO_FILE, EmbeddedStack, StackOptions
from infra.local.stopping import StopSignals, stop_within

# One Ctrl-C or SIGTERM ends `make run` within 5 s; the stop gets most of that.
STOP_SECONDS = 4.0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local",
        description="Run the Partner Event Gateway on this machine (ports: PGW_AWS_PORT, "
                    "PGW_CONSOLE_PORT, PGW_API_PORT, PGW_SAMPLE_PARTNER_PORT).")
    parser.add_argument("--demo-file", type=Path, default=DEMO_FILE,
                        help="where to write URLs, logins and tokens (default: %(default)s)")
    parser.add_argument("--no-demo", action="store_true", help="start without demo data")
    parser.add_argument("--status-delay", type=float, default=1.0,
                        help="seconds the sample partner waits before each status it posts")
    return parser.parse_args(argv)


def describe(stack: EmbeddedStack) -> str:
    """What `make run` prints: where everything is, and how to sign in."""
    rows = [("Console", stack.console_url), ("Partner API", f"{stack.api_url}/v1"),
            ("Sample partner", stack.sample_partner_url),
            ("End users' SMS/email", stack.end_users_url),
            ("AWS endpoint (moto)", stack.aws_endpoint)]
    lines = ["", "Partner Event Gateway (stage 'local') is running:"]
    lines += [f"  {name:<22} {url}" for name, url in rows]
    lines += [f"  {'':<22} JSON: {stack.sms_messages_url}, {stack.email_messages_url}, "
              f"{stack.ses_messages_url}"]
    if stack.demo:
        admin = stack.demo["admin"]
        logins = [("admin", admin)] + [
            (f"{p['name']} ({p['mode']}, {p['status'].replace('_', ' ')})", p["login"])
            for p in stack.demo["partners"]] + [
            (f"{p['name']} ({member['role']})", member)
            for p in stack.demo["partners"] for member in p.get("members", ())]
        width = max(len(name) for name, _ in logins) + 2
        lines += ["", "Console logins:"]
        lines += [f"  {name:<{width}}{login['email']} / {login['password']}"
                  for name, login in logins]
        lines += ["", "API tokens, the portal token and every login are in "
                      f"{stack.options.demo_file}."]
    lines += ["", "Try a request (it reaches Acme's test environment at the sample partner):",
              f"  curl -X POST {stack.api_url}/v1/portal/requests -H 'Content-Type: "
              "application/json' \\",
              "    -H \"Authorization: Bearer $(jq -r .portal_token "
              f"{stack.options.demo_file})\" \\",
              "    -d '{\"environment\": \"test\", \"request_type\": \"stock.check\", "
              "\"user_id\": \"u1\", \"attributes\": {\"region\": \"eu-west-1\"}}'",
              f"  .venv/bin/aws --endpoint-url {stack.aws_endpoint} events list-rules "
              f"--event-bus-name {stack.spec.bus_name}",
              "", "Press Ctrl-C to stop."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    # The functions' structured INFO lines (one per call) drown the URLs and logins; set
    # POWERTOOLS_LOG_LEVEL=INFO to see them.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    options = StackOptions(demo=not arguments.no_demo, demo_file=arguments.demo_file,
                           status_delay=arguments.status_delay)
    signals = StopSignals().install()
    print("Starting the embedded stack...", flush=True)
    starting = _Start(EmbeddedStack(options=options))
    # The stack starts in a thread, so that a signal during the start stops the process at
    # once too (the main thread only polls; see infra/local/stopping.py).
    signals.wait(until=starting.done)
    if not starting.done():
        print("Stopping...", flush=True)
        # Half-started: everything lives in this process, and leaving it frees every port.
        os._exit(0)
    if starting.error is not None:
        error = starting.error
        if not isinstance(error, (OSError, ValueError)):
            raise error
        # A port in use, or a port variable that is not one.
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        print(f"Cannot start: {reason}", file=sys.stderr)
        return 1
    stack = starting.stack
    print(describe(stack), flush=True)
    signals.wait()
    signals.stopping = True
    print("Stopping...", flush=True)
    # The stack's own budget leaves the watchdog time to spare: ports close either way.
    stop_within(STOP_SECONDS, lambda: stack.stop(timeout=STOP_SECONDS - 1.5))
    return 0


class _Start:
    """`EmbeddedStack.start()` in a daemon thread; `done()` once it returned or failed."""

    def __init__(self, stack: EmbeddedStack):
        self.stack = stack
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stack-start", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.stack.start()
        except BaseException as error:  # handed to the main thread, which reports it
            self.error = error

    def done(self) -> bool:
        return not self._thread.is_alive()


def run() -> None:
    """`make run`'s entry point: `main()`, then leave without tearing the interpreter down.

    Everything `make run` started lives in this process and is stopped (ports closed) by the
    time `main()` returns; a normal interpreter exit would then spend seconds freeing the
    stack's objects and module copies, so the process ends with `os._exit` after flushing.
    """
    code = 1
    try:
        code = main()
    except BaseException:
        traceback.print_exc()
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    run()
