"""What the embedded stack's IAM check costs: CPU time per authorised request.

    .venv/bin/python bench/iam.py [--requests 20]

Starts `make run`'s stack in this process (demo data, no console), then has the user portal
create N requests that the demo's push and poll partners receive and answer (four statuses
each, each notified). Every AWS request a function signs is decided by
`infra.local.patches.moto_iam` (read the operation from the wire, map it to actions and ARNs,
evaluate the role's statements); the decision's CPU time is measured on the thread that makes
it (`time.thread_time`, so a busy machine does not inflate it), with the count of requests
decided and the process's whole CPU time over the same flows.

Prints a table; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.local.patches import moto_iam  # noqa: E402
from infra.local.servers import free_port  # noqa: E402
from infra.local.stack import EmbeddedStack, Ports, StackOptions  # noqa: E402

samples: list[float] = []
_lock = threading.Lock()


def _timed_decide() -> None:
    original = moto_iam._decide

    def decide(response: Any, s3: bool) -> None:
        started = time.thread_time()
        try:
            original(response, s3)
        finally:
            if moto_iam.PRINCIPALS.by_key(moto_iam._access_key(response)) is not None:
                with _lock:
                    samples.append(time.thread_time() - started)

    moto_iam._decide = decide  # type: ignore[assignment]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    _timed_decide()
    stack = EmbeddedStack(
        Ports(aws=free_port(), console=free_port(), api=free_port(), sample_partner=free_port()),
        StackOptions(console=False, demo_file=None, status_delay=0.01,
                     retry_time_scale=0.01)).start()
    try:
        samples.clear()
        cpu, wall = time.process_time(), time.monotonic()
        for number in range(args.requests):
            answer = requests.post(
                f"{stack.api_url}/v1/portal/requests", timeout=30,
                headers={"Authorization": f"Bearer {stack.portal_token}"},
                json={"environment": "test", "request_type": "stock.check",
                      "user_id": f"bench-{number}", "attributes": {"region": "eu-west-1"}})
            assert answer.status_code == 202, answer.text
        assert stack.sample_partner is not None
        for _ in range(3):
            stack.runtime.drain(60)
            stack.sample_partner.wait_idle(60)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    finally:
        stack.stop()
    decided = sorted(samples)
    result = {
        "requests_decided": len(decided),
        "mean_us": round(statistics.fmean(decided) * 1e6, 1) if decided else 0.0,
        "median_us": round(statistics.median(decided) * 1e6, 1) if decided else 0.0,
        # The first request of each service builds its router (botocore's model): once.
        "max_us": round(decided[-1] * 1e6, 1) if decided else 0.0,
        "p95_us": round(decided[int(len(decided) * 0.95) - 1] * 1e6, 1) if decided else 0.0,
        "iam_cpu_ms": round(sum(decided) * 1e3, 1),
        "process_cpu_ms": round(cpu * 1e3, 1),
        "iam_share_of_cpu": round(sum(decided) / cpu, 4) if cpu else 0.0,
        "wall_s": round(wall, 2),
    }
    for key, value in result.items():
        print(f"{key:>20}  {value}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
