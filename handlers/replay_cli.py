"""`python -m handlers.replay_cli`: replay archived bus events to chosen rules, watch progress.

    python -m handlers.replay_cli --from 2026-11-23T10:00:00Z --to 2026-11-23T11:00:00Z \\
        [--rule NAME ...] [--pattern JSON] [--name NAME] [--no-wait]
    python -m handlers.replay_cli --status NAME | --cancel NAME | --cleanup NAME

The bus and archive come from `PGW_BUS_NAME` / `PGW_ARCHIVE_NAME` (or `--bus` / `--archive`);
AWS credentials and region from the usual AWS variables (`AWS_ENDPOINT_URL` for the embedded
stack). Prints one progress line per poll and, last, one JSON object. Exit status: 0 when the
replay completed (or was started with `--no-wait`), 1 when it failed or was cancelled or the
wait timed out, 2 for invalid input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable, Sequence, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from partners.archive import (
    Replayer,
    ReplayError,
    ReplayProgress,
    parse_pattern,
    parse_time,
    rule_names,
)
from partners.core.clock import isoformat
from partners.core.constants import Env


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m handlers.replay_cli",
        description="Replay the bus archive's events of a time window to chosen rules.")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--status", metavar="NAME", help="show a replay's progress")
    action.add_argument("--cancel", metavar="NAME", help="cancel a running replay")
    action.add_argument("--cleanup", metavar="NAME",
                        help="delete the temporary rules of a finished --pattern replay")
    parser.add_argument("--from", dest="start", metavar="TIME",
                        help="window start, ISO 8601 (UTC unless it has an offset)")
    parser.add_argument("--to", dest="end", metavar="TIME", help="window end, ISO 8601")
    parser.add_argument("--rule", action="append", default=[], metavar="NAME",
                        help="a rule to replay to (repeat, or comma-separate); default: all")
    parser.add_argument("--pattern", metavar="JSON",
                        help='only events matching this event pattern, e.g. '
                             '\'{"detail":{"status":["accepted"]}}\'')
    parser.add_argument("--name", help="the replay's name (default: bus, start, random)")
    parser.add_argument("--description", default="", help="the replay's description")
    parser.add_argument("--no-wait", action="store_true",
                        help="start and return; watch later with --status")
    parser.add_argument("--poll-seconds", type=float, default=5.0,
                        help="seconds between progress reports (default 5)")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="stop waiting after this many seconds (default 3600)")
    parser.add_argument("--bus", default=os.environ.get(Env.BUS_NAME),
                        help=f"event bus (default ${Env.BUS_NAME})")
    parser.add_argument("--archive", default=os.environ.get(Env.ARCHIVE_NAME),
                        help=f"archive (default ${Env.ARCHIVE_NAME})")
    return parser


def _summary(progress: ReplayProgress, **extra: Any) -> str:
    return json.dumps({
        "name": progress.name, "state": progress.state, "fraction": round(progress.fraction, 4),
        "window": [isoformat(progress.window_start), isoformat(progress.window_end)],
        "last_replayed": isoformat(progress.last_replayed) if progress.last_replayed else None,
        "rules": [arn.rsplit("/", 1)[-1] for arn in progress.filter_arns],
        **extra,
    }, separators=(",", ":"))


def watch(replayer: Replayer, progress: ReplayProgress, *, poll_seconds: float,
          timeout: float, out: TextIO, sleep: Callable[[float], None] = time.sleep,
          monotonic: Callable[[], float] = time.monotonic) -> ReplayProgress:
    """Print `progress` and poll until the replay is over or `timeout` seconds passed."""
    deadline = monotonic() + timeout
    print(progress.describe(), file=out, flush=True)
    while not progress.done and monotonic() < deadline:
        sleep(poll_seconds)
        progress = replayer.progress(progress.name)
        print(progress.describe(), file=out, flush=True)
    return progress


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout,
         err: TextIO = sys.stderr, replayer: Replayer | None = None,
         sleep: Callable[[float], None] = time.sleep) -> int:
    """Run the command; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if replayer is None:
        if not args.bus or not args.archive:
            parser.error(f"the bus and archive are needed: set ${Env.BUS_NAME} and "
                         f"${Env.ARCHIVE_NAME}, or pass --bus and --archive")
        replayer = Replayer(args.bus, args.archive)
    try:
        if args.status:
            progress = replayer.progress(args.status)
            print(progress.describe(), file=out)
            print(_summary(progress), file=out)
            return 0
        if args.cancel:
            progress = replayer.cancel(args.cancel)
            print(progress.describe(), file=out)
            print(_summary(progress), file=out)
            return 0
        if args.cleanup:
            removed = replayer.cleanup(args.cleanup)
            progress = replayer.progress(args.cleanup)
            print(_summary(progress, removed_rules=removed), file=out)
            return 0
        if not args.start or not args.end:
            parser.error("--from and --to are required to start a replay")
        progress = replayer.start(
            parse_time(args.start, field_name="from"), parse_time(args.end, field_name="to"),
            rules=rule_names(args.rule), pattern=parse_pattern(args.pattern), name=args.name,
            description=args.description)
        if args.no_wait:
            print(progress.describe(), file=out)
            print(_summary(progress), file=out)
            return 0
        progress = watch(replayer, progress, poll_seconds=args.poll_seconds,
                         timeout=args.timeout, out=out, sleep=sleep)
        removed = replayer.cleanup(progress.name) if progress.done else []
        print(_summary(progress, removed_rules=removed), file=out)
        return 0 if progress.state == "COMPLETED" else 1
    except ReplayError as error:
        print(f"error: {error}", file=err)
        return 2 if isinstance(error, ValueError) else 1
    except (ClientError, BotoCoreError) as error:
        print(f"error: AWS refused the call: {error}", file=err)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
