"""End-to-end benchmark of flows A and B on the embedded stack.

    .venv/bin/python bench/e2e.py [--requests N]

Flow A: the user portal creates N requests (`POST /v1/portal/requests`) that match exactly
one push partner environment (the demo's Acme Logistics, `test`); EventBridge (the local
runtime) delivers each to the sample partner. Flow B: the sample partner posts four statuses
per request (`received`, `in_progress`, `accepted`, `fulfilled`) through the partner API; each
status goes to the notifier, which emails the user through the SNS topic.

Measured:
- delivery throughput: N `Request Created` events put with PutEvents (10 a call, the entries
  the portal API puts) until the sample partner has received all N, against direct HTTP
  POSTs of the same CloudEvents to the same sample partner from one client in the same run
  (N before and N after the delivery phase, as the machine's load varies); their ratio
  (goal >= 0.5). The sample partner posts no statuses in this phase, so the
  figure is the delivery path's (EventBridge rule -> API destination + routing recorder).
  Both sides open a connection per POST (the werkzeug servers close each one; EventBridge
  sends `Connection: close`). The time the rule's other targets (routing recorder, the
  projector behind it, the data lake) still need after the last delivery is printed too;
  the flows below start only when they are done, so no count carries over;
- flows A and B end to end: N requests through the portal API (8 client threads), each
  delivered, answered with four statuses, each status notified; the time they take;
- lost requests (goal 0): a request is lost unless it was delivered (or sits in the partner's
  DLQ), its four statuses were accepted, and each status was notified;
- billable AWS operations per fulfilled request (goal <= 40), counted from every AWS call the
  flows make: each boto3 call of the handlers (a botocore hook on every client), PutEvents
  entries, and the invocations AWS bills where the runtime stands in for it (API Gateway
  requests, Lambda invocations, API destination calls); with the cost per million requests at
  the us-east-1 list prices below. Operations are what AWS prices per request or per call;
  what it prices by volume (Firehose ingestion per GB, in 5 KB steps per record; email
  deliveries) is in the cost, not in the operation count. DynamoDB calls are counted one per
  item (a GSI's replicated writes are billed on top, and not counted here).
- the delivery log's share: the bus log records the runtime writes per request (by message
  type) and their bytes, the indexer's invocations and its DynamoDB calls on `deliveries`,
  with the cost per million requests of CloudWatch Logs vended ingestion (the chosen
  destination, with the subscription filter) and, for comparison, of vended delivery to
  Firehose (the alternative: Firehose -> S3 -> indexer).

Everything runs in this process (moto server, runtime, API, sample partner): the numbers are
relative, not a forecast of AWS latency.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

import botocore.client  # noqa: E402
import requests  # noqa: E402

from infra.local.sample_partner import Account  # noqa: E402
from infra.local.servers import free_port  # noqa: E402
from infra.local.stack import EmbeddedStack, Ports, StackOptions  # noqa: E402

PARTNER = "acme-logistics"
ENVIRONMENT = "test"
REQUEST_TYPE = "delivery.quote"  # Acme only (Globex polls for stock checks)
STATUSES = 4

# us-east-1 list prices, USD per billable unit (aws.amazon.com/<service>/pricing, 2025).
PRICES = {
    "apigateway": ("REST API request", 3.50 / 1e6),
    "lambda": ("invocation (requests only; duration at 128-512 MB adds ~$0.2-1/M)", 0.20 / 1e6),
    "events": ("custom event (PutEvents entry, 64 KB chunk)", 1.00 / 1e6),
    "api-destinations": ("API destination invocation", 0.20 / 1e6),
    "dynamodb:read": ("on-demand read request unit", 0.125 / 1e6),
    "dynamodb:write": ("on-demand write request unit", 0.625 / 1e6),
    "sns": ("SNS publish (64 KB chunk)", 0.50 / 1e6),
    "sns:email": ("email notification delivered", 2.00 / 1e5),
    "firehose": ("record into Firehose (volume: $0.029/GB, 5 KB steps)", 0.029 * 5 / 1e6),
    "s3": ("S3 request", 5.00 / 1e6),
    "sqs": ("SQS request", 0.40 / 1e6),
    # The bus's own logs, per byte: CloudWatch vended logs delivered to CloudWatch Logs,
    # first 10 TB/month, Standard class (aws.amazon.com/cloudwatch/pricing, "Vended Logs").
    "logs:vended": ("byte of bus logs into CloudWatch Logs ($0.50/GB vended)", 0.50 / 2**30),
    "other": ("other call", 0.0),
}
# The alternative destination, for the comparison printed with the delivery log's figures:
# vended logs delivered to Firehose ($0.25/GB, aws.amazon.com/cloudwatch/pricing) plus
# Firehose ingestion of vended logs (~$0.13/GB, aws.amazon.com/firehose/pricing, "Vended Logs
# as a source"; unconfirmed: the stored copy of the page lacked the figure), before S3
# requests and the indexer reading the objects.
FIREHOSE_VENDED_PER_GB = 0.25 + 0.13
# Priced by volume, not per request: in the cost, not in the operation count.
VOLUME_PRICED = frozenset({"firehose", "sns:email", "logs:vended"})
DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems",
                   "BatchWriteItem"}


class CallCounter:
    """Counts every boto3 call of this process (a hook on every client's API call)."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.tables: Counter[tuple[str, str]] = Counter()
        self.put_event_entries = 0
        self.active = False
        self._lock = threading.Lock()
        self._original = botocore.client.BaseClient._make_api_call

    def install(self) -> None:
        counter = self

        def counted(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if counter.active:
                service = client.meta.service_model.endpoint_prefix
                with counter._lock:
                    counter.calls[(service, operation)] += 1
                    if service == "dynamodb" and operation == "TransactWriteItems":
                        # One count per item, on its table (each is billed 2 write units).
                        for item in params.get("TransactItems", []):
                            table = next(iter(item.values())).get("TableName", "?")
                            counter.tables[(table.replace("pgw-local-", ""), operation)] += 1
                    elif service == "dynamodb":
                        table = str(params.get("TableName", "transaction"))
                        counter.tables[(table.replace("pgw-local-", ""), operation)] += 1
                    if operation == "PutEvents":
                        counter.put_event_entries += len(params.get("Entries", []))
            return counter._original(client, operation, params)

        botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]

    def uninstall(self) -> None:
        botocore.client.BaseClient._make_api_call = self._original  # type: ignore[method-assign]


class InvocationCounter:
    """Counts calls of a runtime method (Lambda invocations, API destination calls)."""

    def __init__(self, owner: Any, method: str, key: Any) -> None:
        self.counts: Counter[str] = Counter()
        self.active = False
        self._lock = threading.Lock()
        original = getattr(owner, method)

        def counted(*args: Any, **kwargs: Any) -> Any:
            if self.active:
                with self._lock:
                    self.counts[key(*args)] += 1
            return original(*args, **kwargs)

        setattr(owner, method, counted)


def cloudevent(index: int) -> dict[str, Any]:
    return {"specversion": "1.0", "id": f"direct-{index}-{uuid.uuid4().hex[:8]}",
            "source": "urn:marketplace:requests", "type": "marketplace.request.created",
            "time": "2026-11-23T10:00:00Z", "datacontenttype": "application/json",
            "data": {"environment": "dev", "request_id": f"direct-{index}",
                     "request_type": REQUEST_TYPE, "attributes": {"region": "eu-west-1"}}}


def wait_until(condition, timeout: float, what: str) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    print(f"  timed out waiting for {what}", file=sys.stderr)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8,
                        help="portal client threads creating requests (default 8)")
    arguments = parser.parse_args(argv)
    n = arguments.requests
    logging.basicConfig(level=logging.ERROR)

    calls = CallCounter()
    calls.install()
    ports = Ports(aws=free_port(), console=free_port(), api=free_port(),
                  sample_partner=free_port())
    stack = EmbeddedStack(ports, StackOptions(console=False, demo=True, demo_file=None,
                                              status_delay=0.0, sample_partner_workers=8))
    print(f"Starting the embedded stack for {n} requests...", flush=True)
    stack.start()
    try:
        return run(stack, calls, n, arguments.clients)
    finally:
        stack.stop()
        calls.uninstall()


def run(stack: EmbeddedStack, calls: CallCounter, n: int, clients: int) -> int:
    demo = stack.demo or {}
    partner = next(p for p in demo["partners"] if p["slug"] == PARTNER)
    portal = {"Authorization": f"Bearer {demo['portal_token']}"}
    api = stack.api_url
    http = requests.Session()
    user = "bench-user"
    contact = http.put(f"{api}/v1/portal/users/{user}/contact", headers=portal, timeout=30,
                       json={"email": "bench-user@example.com", "channels": ["email"]})
    notify = contact.status_code in (200, 201)
    if not notify:
        print(f"  contact registration answered {contact.status_code}: notifications are "
              "not checked", file=sys.stderr)
    runtime, partner_app = stack.runtime, stack.sample_partner
    lambdas = InvocationCounter(runtime.lambdas, "call", lambda name, event: name.split(":")[-1])
    destinations = InvocationCounter(runtime.http, "call", lambda *a: "api-destination")
    # Rule targets the runtime delivers without boto3 (Firehose for the data lake, SQS/SNS);
    # Lambda and API destination targets are counted above.
    targets = InvocationCounter(runtime.sender, "send",
                                lambda target, *rest: str(target["Arn"]).split(":")[2])
    raise_rate_limit(stack, partner["id"])
    # The direct baseline's sender: an account without API tokens (no statuses posted).
    direct_key = uuid.uuid4().hex
    partner_app.add_account(Account("bench-direct", direct_key, {}))

    # --- direct POSTs: one client, sequential -------------------------------------------
    # Measured before and after the delivery phase (the machine's load moves between the
    # two); the baseline is both runs together.
    session = requests.Session()
    headers = {"X-Api-Key": direct_key, "Content-Type": "application/json"}

    def post_directly(first: int) -> float:
        print(f"  direct POSTs to the sample partner ({n})...", flush=True)
        started = time.perf_counter()
        for index in range(first, first + n):
            response = session.post(f"{stack.sample_partner_url}/deliveries",
                                    data=json.dumps(cloudevent(index)), headers=headers,
                                    timeout=30)
            response.raise_for_status()
        return time.perf_counter() - started

    direct_seconds = post_directly(0)
    received_before = partner_app.summary()["received"]

    # --- delivery: PutEvents -> received ----------------------------------------------------
    from partners.core.constants import REQUEST_CREATED
    from partners.core.contracts import put_events_entry

    events = stack.session().client("events")
    print(f"  delivery: {n} events by PutEvents...", flush=True)
    statuses, partner_app.statuses = partner_app.statuses, ()  # receive only
    put_ids = [f"rbench{uuid.uuid4().hex[:14]}" for _ in range(n)]
    received_before = partner_app.summary()["received"]
    started = time.perf_counter()
    for offset in range(0, n, 10):
        entries = [put_events_entry(stack.spec.bus_name, REQUEST_CREATED, {
            "environment": ENVIRONMENT, "request_id": request_id, "request_type": REQUEST_TYPE,
            "occurred_at": "2026-11-23T10:00:00Z", "schema_version": "1", "user_id": user,
            "attributes": {"region": "eu-west-1"}}) for request_id in put_ids[offset:offset + 10]]
        answer = events.put_events(Entries=entries)
        assert answer.get("FailedEntryCount", 0) == 0, answer
    wait_until(lambda: partner_app.summary()["received"] - received_before >= n, 900,
               "deliveries of the put events")
    delivery_seconds = time.perf_counter() - started
    delivery_rate = (partner_app.summary()["received"] - received_before) / delivery_seconds
    drained = time.perf_counter()
    if not runtime.drain(3600):
        print("  the delivery phase's Lambda and stream work did not finish", file=sys.stderr)
    backlog_seconds = time.perf_counter() - drained
    partner_app.statuses = statuses
    put_delivered = {d["request_id"] for d in partner_app.deliveries(limit=20 * n + 100)}
    lost_puts = sum(1 for r in put_ids if r not in put_delivered)
    direct_seconds += post_directly(n)
    direct_rate = 2 * n / direct_seconds
    received_before = partner_app.summary()["received"]

    # --- flows A and B --------------------------------------------------------------------
    bus_logs = runtime.bus_logs
    logs_before = (bus_logs.records_written, bus_logs.bytes_written, dict(bus_logs.by_type),
                   runtime.log_subscriptions.deliveries, runtime.log_subscriptions.events_delivered)
    calls.active = lambdas.active = destinations.active = targets.active = True
    stack.gateway.request_counts.clear()
    request_ids: list[str] = []
    failures: Counter[int] = Counter()
    ids_lock = threading.Lock()

    def create(index: int) -> None:
        with requests.Session() as client:
            response = client.post(f"{api}/v1/portal/requests", headers=portal, timeout=60,
                                   json={"environment": ENVIRONMENT, "request_type": REQUEST_TYPE,
                                         "user_id": user,
                                         "attributes": {"region": "eu-west-1", "n": index}})
        with ids_lock:
            if response.status_code == 202:
                request_ids.append(response.json()["request_id"])
            else:
                failures[response.status_code] += 1

    print(f"  flows A and B: {n} requests through the portal API...", flush=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(create, range(n)))
    intake_seconds = time.perf_counter() - started
    wait_until(lambda: partner_app.summary()["received"] - received_before >= len(request_ids),
               3600, "deliveries")
    flow_delivery_seconds = time.perf_counter() - started
    wait_until(lambda: partner_app.summary()["pending_statuses"] == 0
               and partner_app.summary()["statuses_posted"] + partner_app.summary()[
                   "statuses_failed"] >= STATUSES * len(request_ids), 3600, "statuses")
    if not runtime.drain(3600):
        print("  the flows' Lambda and stream work did not finish", file=sys.stderr)
    total_seconds = time.perf_counter() - started
    calls.active = lambdas.active = destinations.active = targets.active = False
    bus_logs.flush()
    log_figures = {
        "records": bus_logs.records_written - logs_before[0],
        "bytes": bus_logs.bytes_written - logs_before[1],
        "by_type": {k: v - logs_before[2].get(k, 0) for k, v in bus_logs.by_type.items()},
        "subscription_deliveries": runtime.log_subscriptions.deliveries - logs_before[3],
        "records_to_indexer": runtime.log_subscriptions.events_delivered - logs_before[4],
    }
    delivered = {d["request_id"] for d in partner_app.deliveries(environment=ENVIRONMENT,
                                                                  limit=20 * n + 100)}

    # --- lost requests ----------------------------------------------------------------------
    statuses_ok: Counter[str] = Counter()
    for d in partner_app.deliveries(environment=ENVIRONMENT, limit=20 * n + 100):
        statuses_ok[d["request_id"]] += sum(1 for s in d["statuses"] if "error" not in s)
    dead_lettered = dlq_request_ids(stack, partner["id"])
    notified: Counter[str] = Counter()
    if notify:
        from moto.sns.models import sns_backends

        backend = sns_backends["123456789012"]["us-east-1"]
        for topic in list(backend.topics.values()):
            for notification in list(topic.sent_notifications):
                for request_id in request_ids_in(notification[1]):
                    notified[request_id] += 1
    lost = lost_puts + n - len(request_ids)
    for request_id in request_ids:
        if request_id not in delivered and request_id not in dead_lettered:
            lost += 1
        elif request_id in delivered and statuses_ok[request_id] < STATUSES:
            lost += 1
        elif notify and request_id in delivered and notified[request_id] < STATUSES:
            lost += 1

    # --- billable operations ----------------------------------------------------------------
    by_service: Counter[str] = Counter()
    for (service, operation), count in calls.calls.items():
        if service == "dynamodb":
            kind = "write" if operation in DYNAMODB_WRITES else "read"
            by_service[f"dynamodb:{kind}"] += count
        elif service == "events" and operation == "PutEvents":
            by_service["events"] += calls.put_event_entries
        elif service in PRICES:
            by_service[service] += count
        else:
            by_service["other"] += count
    by_service["apigateway"] += sum(count for name, count in stack.gateway.request_counts.items()
                                    if not name.endswith("(authorizer)"))
    by_service["lambda"] += sum(lambdas.counts.values())
    by_service["api-destinations"] += sum(destinations.counts.values())
    for service, count in targets.counts.items():
        if service not in ("lambda", "events"):  # counted as invocations above
            by_service[service if service in PRICES else "other"] += count
    if notify:
        by_service["sns:email"] += sum(notified[r] for r in request_ids)
    by_service["logs:vended"] += log_figures["bytes"]
    fulfilled = max(1, sum(1 for r in request_ids if statuses_ok[r] >= STATUSES))
    ops_per_request = sum(count for key, count in by_service.items()
                          if key not in VOLUME_PRICED) / fulfilled
    print_report(n, len(request_ids), failures, direct_rate, direct_seconds, delivery_rate,
                 delivery_seconds, backlog_seconds, intake_seconds, flow_delivery_seconds, total_seconds, lost,
                 dead_lettered,
                 by_service, fulfilled, lambdas.counts, calls.calls, calls.tables)
    delivery_log = delivery_log_report(log_figures, fulfilled, lambdas.counts, calls.tables,
                                       stack.spec.function_name("delivery_indexer"))
    print(json.dumps({
        "requests": n,
        "lost": lost,
        "delivery_ratio": round(delivery_rate / direct_rate, 3),
        "billable_ops_per_request": round(ops_per_request, 2),
        "delivery_per_second": round(delivery_rate, 1),
        "direct_per_second": round(direct_rate, 1),
        "cost_per_million_requests_usd": round(cost(by_service) / fulfilled * 1e6, 2),
        "delivery_log": delivery_log,
    }))
    return 0


def delivery_log_report(figures: dict[str, Any], fulfilled: int, lambda_counts: Counter[str],
                        tables: Counter[tuple[str, str]], indexer: str) -> dict[str, Any]:
    """Print the delivery log's share of the flows: records, bytes, indexer work, cost."""
    records = figures["records"] / fulfilled
    size = figures["bytes"] / max(1, figures["records"])
    invocations = lambda_counts.get(indexer, 0) / fulfilled
    reads = sum(c for (t, op), c in tables.items()
                if t == "deliveries" and op not in DYNAMODB_WRITES) / fulfilled
    # A transaction's item costs two write units.
    writes = sum(c * (2 if op == "TransactWriteItems" else 1) for (t, op), c in tables.items()
                 if t == "deliveries" and op in DYNAMODB_WRITES) / fulfilled
    gigabytes = figures["bytes"] / 2**30 / fulfilled * 1e6
    vended = gigabytes * PRICES["logs:vended"][1] * 2**30
    firehose = gigabytes * FIREHOSE_VENDED_PER_GB
    lambda_cost = invocations * 1e6 * PRICES["lambda"][1]
    table_cost = (reads * PRICES["dynamodb:read"][1] + writes * PRICES["dynamodb:write"][1]) * 1e6
    print()
    print("Delivery log (bus logs TRACE + FULL -> CloudWatch Logs -> subscription -> indexer):")
    print(f"  bus log records per request: {records:.2f} ({size:,.0f} bytes each on average; "
          + ", ".join(f"{k} {v / fulfilled:.2f}" for k, v in sorted(figures['by_type'].items()))
          + ")")
    print(f"  records the subscription filter passes to the indexer per request: "
          f"{figures['records_to_indexer'] / fulfilled:.2f}, in "
          f"{figures['subscription_deliveries'] / fulfilled:.3f} invocations per request")
    print(f"  indexer invocations per request: {invocations:.3f}; DynamoDB on deliveries per "
          f"request: {reads:.2f} reads, {writes:.2f} write units")
    print(f"  per million requests: {gigabytes:,.2f} GB of bus logs -> CloudWatch Logs vended "
          f"${vended:,.2f} (Firehose instead: ${firehose:,.2f}); indexer Lambda requests "
          f"${lambda_cost:,.2f}; deliveries table ${table_cost:,.2f}; total "
          f"${vended + lambda_cost + table_cost:,.2f}")
    return {"records_per_request": round(records, 2), "bytes_per_record": round(size),
            "indexer_invocations_per_request": round(invocations, 3),
            "deliveries_reads_per_request": round(reads, 2),
            "deliveries_writes_per_request": round(writes, 2),
            "usd_per_million": round(vended + lambda_cost + table_cost, 2),
            "usd_per_million_firehose_vended": round(firehose, 2)}


def raise_rate_limit(stack: EmbeddedStack, partner_id: str) -> None:
    """Give the benchmark's partner environment EventBridge's top invocation rate (300/s),
    as its owner would in the console, so the rate limit does not set the pace."""
    from dataclasses import replace

    from partners.core.constants import Env
    from partners.onboarding import PartnerRegistry

    registry = PartnerRegistry(os.environ[Env.PARTNERS_TABLE], boto3_session=stack.session())
    partner = registry.get_partner(partner_id)
    environment = replace(partner.environment(ENVIRONMENT), rate_limit_per_second=300)
    registry.save_partner(partner.with_environment(environment))
    stack.reconcile(partner_id)


def request_ids_in(message: str) -> list[str]:
    import re

    return re.findall(r"\br[a-z0-9]{19}\b", message or "")


def dlq_request_ids(stack: EmbeddedStack, partner_id: str) -> set[str]:
    """Request ids waiting in the partner environment's dead-letter queue."""
    sqs = stack.session().client("sqs")
    name = stack.spec.partner_resource_name(partner_id, ENVIRONMENT)
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except Exception:  # no queue: nothing dead-lettered
        return set()
    found: set[str] = set()
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       VisibilityTimeout=600).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.update(request_ids_in(message.get("Body", "")))


def cost(by_service: Counter[str]) -> float:
    return sum(count * PRICES.get(key, PRICES["other"])[1] for key, count in by_service.items())


def print_report(n, created, failures, direct_rate, direct_seconds, delivery_rate,
                 delivery_seconds, backlog_seconds, intake_seconds, flow_delivery_seconds,
                 total_seconds, lost, dead_lettered,
                 by_service, fulfilled, lambda_counts, calls, tables) -> None:
    print()
    print(f"Requests: {n} asked, {created} accepted by the portal API"
          + (f", refused: {dict(failures)}" if failures else ""))
    print(f"{'measure':<44}{'value':>14}")
    print("-" * 58)
    rows = [
        ("direct POSTs to the sample partner (1 client)", f"{direct_rate:,.1f}/s"),
        ("  time for 2 x N direct POSTs (before, after)", f"{direct_seconds:,.1f} s"),
        ("delivery: first PutEvents -> last received", f"{delivery_rate:,.1f}/s"),
        ("  time for all deliveries", f"{delivery_seconds:,.1f} s"),
        ("delivery / direct ratio (goal >= 0.5)", f"{delivery_rate / direct_rate:.3f}"),
        ("  then Lambda + stream work left (drain)", f"{backlog_seconds:,.1f} s"),
        ("flows A+B: portal intake (8 clients)", f"{created / intake_seconds:,.1f}/s"),
        ("flows A+B: all delivered after", f"{flow_delivery_seconds:,.1f} s"),
        ("flows A+B: all statuses notified after", f"{total_seconds:,.1f} s"),
        ("lost requests (goal 0)", f"{lost}"),
        ("dead-lettered", f"{len(dead_lettered)}"),
    ]
    for name, value in rows:
        print(f"{name:<44}{value:>14}")
    print()
    print(f"Billable operations per fulfilled request ({fulfilled} fulfilled, "
          f"{STATUSES} statuses each):")
    print(f"{'service':<18}{'ops/request':>12}{'USD per 1M requests':>22}  unit price")
    print("-" * 90)
    total_ops = total_cost = 0.0
    for key in sorted(by_service):
        per = by_service[key] / fulfilled
        dollars = by_service[key] * PRICES.get(key, PRICES["other"])[1] / fulfilled * 1e6
        total_cost += dollars
        if key not in VOLUME_PRICED:
            total_ops += per
        label, price = PRICES.get(key, PRICES["other"])
        shown = f"({per:.2f})" if key in VOLUME_PRICED else f"{per:.2f}"
        print(f"{key:<18}{shown:>12}{dollars:>22.2f}  ${price * 1e6:.3f}/M {label}")
    print("-" * 90)
    print(f"{'total':<18}{total_ops:>12.2f}{total_cost:>22.2f}  (goal <= 40 operations; "
          "(bracketed): priced by volume, not counted as operations)")
    print()
    print("Lambda invocations per request: " + ", ".join(
        f"{name.replace('pgw-local-', '')} {count / fulfilled:.2f}"
        for name, count in sorted(lambda_counts.items())))
    print("AWS calls per request: " + ", ".join(
        f"{service}.{operation} {count / fulfilled:.2f}"
        for (service, operation), count in sorted(calls.items())))
    print("DynamoDB calls per request by table: " + ", ".join(
        f"{table}.{operation} {count / fulfilled:.2f}"
        for (table, operation), count in sorted(tables.items())))


if __name__ == "__main__":
    sys.exit(main())
