"""Local runtime delivery throughput: PutEvents -> API destination, against direct POSTs.

Starts moto (ThreadedMotoServer) and the local runtime in this process, a loopback receiver,
and one rule whose target is an API destination (API key connection, CloudEvents input
transformer) pointing at the receiver. Like every partner rule of the gateway, the rule has a
second target, a Lambda function run in-process that reads and appends to a DynamoDB table in
moto (as the routing recorder does); `--no-lambda-target` leaves it out. Puts N events
(PutEvents, 10 a call) and times until the receiver has all of them (the deliveries must not
wait for the function); then until the function has recorded all of them; then times N
direct POSTs from one client to the same receiver.

    .venv/bin/python bench/runtime_delivery.py [--events N] [--workers W] [--no-lambda-target]

Prints a table, then one JSON line: events, delivered, lost, delivery_per_s, direct_per_s,
ratio, put_events_p50_ms, lambda_target, recorded, all_recorded_s.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
import requests  # noqa: E402

from infra.local import patches  # noqa: E402
from infra.local.runtime import LocalRuntime, RuntimeSettings  # noqa: E402
from partners.core.contracts import CLOUDEVENTS_TRANSFORMER  # noqa: E402


class _Server(ThreadingHTTPServer):
    # A listen backlog like werkzeug's: socketserver's default of 5 stalls the connects of
    # a worker pool (EventBridge closes every connection, so each call connects anew).
    request_queue_size = 128
    daemon_threads = True


class Receiver:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.count >= count:
                    return True
            time.sleep(0.005)
        return False


class Recorder:
    """The Lambda target: one DynamoDB query and one put per event (a routing record)."""

    TABLE = "bench-routing"

    def __init__(self, session: boto3.session.Session, endpoint: str) -> None:
        self.dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        self.dynamodb.create_table(
            TableName=self.TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}])
        self.count = 0

    def handler(self, event: dict[str, Any], context: object) -> None:
        request_id = event["detail"]["request_id"]
        known = self.dynamodb.query(
            TableName=self.TABLE, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": request_id}})["Count"]
        self.dynamodb.put_item(TableName=self.TABLE, Item={
            "pk": {"S": request_id}, "sk": {"N": str(known + 1)},
            "kind": {"S": "routed"}, "event": {"S": json.dumps(event)}})
        self.count += 1  # one invocation at a time per function (the runtime's lanes)


def wait_until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--no-lambda-target", dest="lambda_target", action="store_false",
                        help="the rule's only target is the API destination")
    args = parser.parse_args()

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    patches.apply()  # moto's missing routes before the server starts
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                    region_name="us-east-1")
    events = session.client("events", endpoint_url=endpoint)
    receiver = Receiver()
    runtime = LocalRuntime(RuntimeSettings(workers=args.workers)).start()
    try:
        connection = events.create_connection(
            Name="bench", AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key",
                                                      "ApiKeyValue": "bench"}})["ConnectionArn"]
        destination = events.create_api_destination(
            Name="bench", ConnectionArn=connection, InvocationEndpoint=receiver.url,
            HttpMethod="POST", InvocationRateLimitPerSecond=300)["ApiDestinationArn"]
        events.put_rule(Name="bench", EventPattern=json.dumps({"source": ["bench"]}))
        targets: list[Any] = [{"Id": "d", "Arn": destination,
                    "InputTransformer": CLOUDEVENTS_TRANSFORMER.to_aws()}]
        recorder = None
        if args.lambda_target:
            recorder = Recorder(session, endpoint)
            runtime.register("bench-recorder", recorder.handler)
            targets.append({"Id": "recorder",
                            "Arn": "arn:aws:lambda:us-east-1:123456789012:function:bench-recorder"})
        events.put_targets(Rule="bench", Targets=targets)

        put_times = []
        started = time.monotonic()
        for first in range(0, args.events, 10):
            entries: list[Any] = [
                {"Source": "bench", "DetailType": "Request Created",
                 "Detail": json.dumps({"request_id": f"r-{n}", "environment": "prod"})}
                for n in range(first, min(first + 10, args.events))]
            before = time.monotonic()
            events.put_events(Entries=entries)
            put_times.append((time.monotonic() - before) * 1000)
        put_seconds = time.monotonic() - started
        delivered_all = receiver.wait_for(args.events, timeout=300)
        delivery_seconds = time.monotonic() - started
        delivered = receiver.count
        if recorder is not None:
            wait_until(lambda: recorder.count >= args.events, timeout=600)
        recorded_seconds = time.monotonic() - started
        runtime.drain(60)

        direct = requests.Session()
        body = json.dumps({"specversion": "1.0", "id": "x", "data": {}})
        started = time.monotonic()
        for _ in range(args.events):
            direct.post(receiver.url, data=body, timeout=5,
                        headers={"Content-Type": "application/json"})
        direct_seconds = time.monotonic() - started
    finally:
        runtime.stop()
        moto.stop()

    delivery_rate = delivered / delivery_seconds if delivery_seconds else 0.0
    direct_rate = args.events / direct_seconds if direct_seconds else 0.0
    result = {
        "events": args.events,
        "delivered": delivered,
        "lost": args.events - delivered if delivered_all or delivered < args.events else 0,
        "delivery_per_s": round(delivery_rate, 1),
        "direct_per_s": round(direct_rate, 1),
        "ratio": round(delivery_rate / direct_rate, 3) if direct_rate else 0.0,
        "put_events_p50_ms": round(statistics.median(put_times), 2),
        "lambda_target": args.lambda_target,
        "recorded": recorder.count if recorder is not None else None,
        "all_recorded_s": round(recorded_seconds, 2) if recorder is not None else None,
    }
    print(f"{'path':<34}{'events':>8}{'seconds':>10}{'per s':>10}")
    print(f"{'PutEvents -> API destination':<34}{delivered:>8}{delivery_seconds:>10.2f}"
          f"{delivery_rate:>10.1f}")
    print(f"{'direct POST, one client':<34}{args.events:>8}{direct_seconds:>10.2f}"
          f"{direct_rate:>10.1f}")
    print(f"PutEvents (10 entries) median {result['put_events_p50_ms']} ms; all puts took "
          f"{put_seconds:.2f} s")
    if recorder is not None:
        print(f"Lambda target: {recorder.count} recorded, the last {recorded_seconds:.2f} s "
              "after the first PutEvents")
    print(json.dumps(result))
    unrecorded = recorder is not None and recorder.count < args.events
    return 0 if result["lost"] == 0 and not unrecorded else 1


if __name__ == "__main__":
    sys.exit(main())
