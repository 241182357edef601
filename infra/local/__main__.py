"""`make run`: the whole gateway on this machine, stopped by one Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from infra.local.stack import DEMO_FILE, EmbeddedStack, StackOptions


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
            ("AWS endpoint (moto)", stack.aws_endpoint)]
    lines = ["", "Partner Event Gateway (stage 'local') is running:"]
    lines += [f"  {name:<20} {url}" for name, url in rows]
    if stack.demo:
        admin = stack.demo["admin"]
        logins = [("admin", admin)] + [
            (f"{p['name']} ({p['mode']}, {p['status'].replace('_', ' ')})", p["login"])
            for p in stack.demo["partners"]]
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
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print("Starting the embedded stack...", flush=True)
    try:
        stack = EmbeddedStack(options=options).start()
    except (OSError, ValueError) as error:  # a port in use, or a port variable that is not one
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        print(f"Cannot start: {reason}", file=sys.stderr)
        return 1
    try:
        print(describe(stack), flush=True)
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
