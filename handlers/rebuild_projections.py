"""Rebuild the request projections from the request log.

    python -m handlers.rebuild_projections [--request-id ID ...]

Reads the table names from the `PGW_*` environment variables (as the functions do; the
embedded stack's `make run` prints them) and any AWS endpoint boto3 is pointed at. Safe to run
while the projector runs: items are only ever replaced by ones folded from a longer log.

It also migrates a stage's views to the current layout: every item is rewritten in its
current shape, and items of a former layout (the `requests` table's per-route `ROUTE#` items,
now part of the `partner_inbox` items) are deleted. Run it once after deploying a change of
layout.
"""

from __future__ import annotations

import argparse
import os
import sys

from handlers.projector import Dependencies
from partners.core.constants import Env
from partners.requests import project, rebuild


def main(argv: list[str] | None = None) -> int:
    """Run the command.

    Parameters
    ----------
    argv: the arguments (default: the process's).

    Returns
    -------
    The exit status: 0 when rebuilt, 2 when a table variable is missing.
    """
    parser = argparse.ArgumentParser(prog="python -m handlers.rebuild_projections",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--request-id", action="append", default=[],
                        help="rebuild only this request (repeatable); default: every request")
    args = parser.parse_args(argv)
    missing = [name for name in (Env.REQUEST_EVENTS_TABLE, Env.REQUESTS_TABLE, Env.INBOX_TABLE,
                                 Env.TIMELINE_TABLE) if not os.environ.get(name)]
    if missing:
        print(f"error: set {', '.join(missing)}", file=sys.stderr)
        return 2
    # The projector's own log and views: the rebuild writes exactly what it would.
    deps = Dependencies.from_environment()
    log, views = deps.log, deps.views
    if args.request_id:
        count = 0
        for request_id in args.request_id:
            projection = project(log.events(request_id))
            if projection is None:
                print(f"{request_id}: no such request", file=sys.stderr)
                continue
            views.write(projection)
            views.delete_retired_items(request_id)
            count += 1
    else:
        count = rebuild(log, views)
    print(f"rebuilt {count} request(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
