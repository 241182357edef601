"""Benchmark the reconciler against a moto server: converge, no-op resync, one edit.

    .venv/bin/python bench/reconcile.py [--partners N]

N partner environments (default 1,000: N/2 partners, each with a push `prod` and a poll
`test` environment; the stage has a usage plan, so every environment also gets a usage key).
The rule quota is configured to N + 100. Measured, as AWS calls seen by botocore (every
service: EventBridge, SQS, Secrets Manager, API Gateway, DynamoDB, STS):

- converge from empty: calls and wall time;
- a no-op resync (`reconcile_all`): reads and writes; also a deep resync;
- one partner edit (new endpoint URL) reconciled as the console triggers it
  (`reconcile(partner_id)`): writes;
- the same three for a naive apply-everything baseline (create-or-update every resource of
  every environment on each run, no observed state) on a second stage in the same server.

Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WRITE_PREFIXES = ("Put", "Create", "Update", "Delete", "Remove", "Tag", "Untag", "Transact",
                  "Batch", "Send")


@dataclass
class CallCounter:
    """Counts every AWS call made through a boto3 session (a `before-call` hook)."""

    calls: Counter = field(default_factory=Counter)
    active: bool = False

    def __call__(self, model: Any = None, **_: Any) -> None:
        if self.active:
            self.calls[model.name] += 1

    def measure(self, run: Callable[[], Any]) -> tuple[Counter, float, Any]:
        self.calls = Counter()
        self.active = True
        started = time.perf_counter()
        try:
            result = run()
        finally:
            self.active = False
        return self.calls, time.perf_counter() - started, result


def writes(calls: Counter) -> int:
    return sum(n for op, n in calls.items() if op.startswith(WRITE_PREFIXES))


def reads(calls: Counter) -> int:
    return sum(calls.values()) - writes(calls)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NaiveApplier:
    """The baseline: write every resource of every routed environment on every run.

    Same desired state as the reconciler (`desired_environment`), no observed state: each
    resource is updated, or created when the update says it does not exist.
    """

    def __init__(self, session: Any, registry: Any, credentials: Any, settings: Any,
                 routing: Any, usage_plan_id: str):
        from partners.core.aws import client

        self.registry, self.credentials = registry, credentials
        self.settings, self.routing, self.usage_plan_id = settings, routing, usage_plan_id
        self.events = client("events", session)
        self.sqs = client("sqs", session)
        self.apigateway = client("apigateway", session)

    def apply_all(self) -> None:
        from partners.onboarding import PartnerStatus

        for partner in self.registry.iter_partners(status=PartnerStatus.APPROVED):
            self.apply(partner)

    def apply_partner(self, partner_id: str) -> None:
        self.apply(self.registry.get_partner(partner_id))

    def apply(self, partner: Any) -> None:
        from botocore.exceptions import ClientError

        from partners.core.clock import isoformat, utc_now
        from partners.onboarding import RoutingState, RoutingStatus
        from partners.routing import desired_environment, rule_description

        versions = self.credentials.current_versions(partner.id)
        for env in partner.environments.values():
            if not env.enabled:
                continue
            desired = desired_environment(partner.id, env, self.routing, versions)
            destination_arn = None
            if desired.connection is not None:
                secret = self.credentials.value(desired.connection.secret_arn)
                request = {"Name": desired.name, "AuthorizationType":
                           desired.connection.auth_type.value,
                           "AuthParameters": desired.connection.auth_parameters(secret)}
                try:
                    connection_arn = self.events.update_connection(**request)["ConnectionArn"]
                except ClientError:
                    connection_arn = self.events.create_connection(**request)["ConnectionArn"]
                request = {"Name": desired.name, "ConnectionArn": connection_arn,
                           "InvocationEndpoint": desired.destination.endpoint,
                           "HttpMethod": "POST", "InvocationRateLimitPerSecond":
                           desired.destination.rate_limit_per_second}
                try:
                    destination_arn = self.events.update_api_destination(
                        **request)["ApiDestinationArn"]
                except ClientError:
                    destination_arn = self.events.create_api_destination(
                        **request)["ApiDestinationArn"]
                self.sqs.create_queue(QueueName=desired.name)
            rule_arn = self.events.put_rule(
                Name=desired.name, EventBusName=self.settings.bus_name,
                EventPattern=desired.pattern, State="ENABLED",
                Description=rule_description(desired.config_hash))["RuleArn"]
            self.events.put_targets(Rule=desired.name, EventBusName=self.settings.bus_name,
                                    Targets=[t.to_aws(destination_arn) for t in desired.targets])
            try:
                key_id = self.apigateway.create_api_key(
                    name=desired.name, value=desired.usage_key_value, enabled=True)["id"]
                self.apigateway.create_usage_plan_key(usagePlanId=self.usage_plan_id,
                                                      keyId=key_id, keyType="API_KEY")
            except ClientError:
                pass  # the key exists (values are unique)
            self.registry.put_routing_status(RoutingStatus(
                partner.id, env.name, RoutingState.LIVE, rule_arn=rule_arn,
                config_hash=desired.config_hash, updated_at=isoformat(utc_now())))


@dataclass
class Stage:
    spec: Any
    registry: Any
    credentials: Any
    partner_ids: list[str]


def build_stage(name: str, session: Any, environments: int) -> Stage:
    """Provision stage `name` and register `environments` partner environments in it."""
    from infra.local.provision import provision_stage
    from infra.spec import stage_spec
    from partners.onboarding import (
        AuthType,
        CredentialStore,
        DeliveryMode,
        EndpointAuth,
        PartnerEnvironment,
        PartnerRegistry,
        PartnerStatus,
        RequestFilter,
    )

    spec = stage_spec(name)
    provision_stage(spec, session=session)
    registry = PartnerRegistry(spec.tables["partners"].name, boto3_session=session)
    credentials = CredentialStore(spec.secret_prefix, boto3_session=session)
    ids = []
    for i in range((environments + 1) // 2):
        partner = registry.create_partner(display_name=f"Partner {i}",
                                          contact_email=f"ops@p{i}.example", slug=f"partner-{i}")
        secret = credentials.put(partner.id, "prod", AuthType.API_KEY, f"key-{i}-value",
                                 set_on="2026-11-23T10:00:00Z")
        prod = PartnerEnvironment(
            name="prod", mode=DeliveryMode.PUSH,
            endpoint_url=f"https://hooks.partner-{i}.example/events",
            auth=EndpointAuth(type=AuthType.API_KEY, header_name="X-Api-Key",
                              secret_arn=secret.arn, secret_set_on=secret.set_on),
            filter=RequestFilter(request_types=("stock.check", f"type.{i % 7}")))
        partner = partner.with_environment(prod)
        if 2 * i + 1 < environments:
            partner = partner.with_environment(PartnerEnvironment(name="test",
                                                                  mode=DeliveryMode.POLL))
        partner = registry.save_partner(partner)
        partner = registry.transition(partner, PartnerStatus.PENDING_APPROVAL)
        registry.transition(partner, PartnerStatus.APPROVED)
        ids.append(partner.id)
    return Stage(spec, registry, credentials, ids)


def edit_endpoint(stage: Stage, partner_id: str) -> None:
    partner = stage.registry.get_partner(partner_id)
    prod = partner.environment("prod")
    stage.registry.save_partner(partner.with_environment(
        replace(prod, endpoint_url=prod.endpoint_url + "/v2")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--partners", type=int, default=1000,
                        help="partner environments (default 1000)")
    args = parser.parse_args()
    n = args.partners

    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"})
    try:
        result = run(n, boto3)
    finally:
        server.stop()
    print_table(result)
    print(json.dumps(result["json"]))


def run(n: int, boto3: Any) -> dict[str, Any]:
    from partners.onboarding import RoutingState
    from partners.routing import Quotas, Reconciler, ReconcilerSettings, RoutingSettings

    counter = CallCounter()
    session = boto3.session.Session(region_name="us-east-1")
    session.events.register("before-call", counter)
    recorder = "arn:aws:lambda:us-east-1:123456789012:function:pgw-bench-routing-recorder"
    apigateway = session.client("apigateway")

    setup_started = time.perf_counter()
    ours = build_stage("bench", session, n)
    naive_stage = build_stage("naive", session, n)
    setup_seconds = time.perf_counter() - setup_started

    plan_id = apigateway.create_usage_plan(name="pgw-bench-partners")["id"]
    settings = ReconcilerSettings(bus_name=ours.spec.bus_name,
                                  resource_prefix=ours.spec.partner_resource_prefix,
                                  routing_recorder_arn=recorder, usage_plan_id=plan_id,
                                  quotas=Quotas(rules_per_bus=n + 100))
    reconciler = Reconciler(ours.registry, ours.credentials, settings, boto3_session=session)

    rows: dict[str, dict[str, Any]] = {}

    def record(label: str, run_: Callable[[], Any]) -> Any:
        calls, seconds, value = counter.measure(run_)
        rows[label] = {"calls": sum(calls.values()), "reads": reads(calls),
                       "writes": writes(calls), "seconds": round(seconds, 2),
                       "by_operation": dict(calls.most_common())}
        return value

    converge = record("ours: converge from empty", reconciler.reconcile_all)
    states = converge.by_state()
    if states != {RoutingState.LIVE.value: n}:
        raise SystemExit(f"did not converge: {states}")
    noop = record("ours: no-op resync", reconciler.reconcile_all)
    record("ours: no-op deep resync", lambda: reconciler.reconcile_all(deep=True))
    edited = ours.partner_ids[len(ours.partner_ids) // 2]
    edit_endpoint(ours, edited)
    record("ours: one partner edit", lambda: reconciler.reconcile(edited))
    record("ours: resync after the edit", reconciler.reconcile_all)

    naive_plan = apigateway.create_usage_plan(name="pgw-naive-partners")["id"]
    naive_settings = replace(settings, bus_name=naive_stage.spec.bus_name,
                             resource_prefix=naive_stage.spec.partner_resource_prefix,
                             usage_plan_id=naive_plan)
    naive_routing = RoutingSettings(prefix=naive_settings.resource_prefix,
                                    routing_recorder_arn=recorder,
                                    queue_arn_prefix="arn:aws:sqs:us-east-1:123456789012:",
                                    usage_plan=True)
    naive = NaiveApplier(session, naive_stage.registry, naive_stage.credentials, naive_settings,
                         naive_routing, naive_plan)
    record("naive: converge from empty", naive.apply_all)
    record("naive: no-op resync", naive.apply_all)
    naive_edited = naive_stage.partner_ids[len(naive_stage.partner_ids) // 2]
    edit_endpoint(naive_stage, naive_edited)
    record("naive: one partner edit", lambda: naive.apply_partner(naive_edited))

    ours_noop = rows["ours: no-op resync"]
    naive_noop = rows["naive: no-op resync"]
    summary = {
        "partners": n,
        "converge_calls": rows["ours: converge from empty"]["calls"],
        "converge_seconds": rows["ours: converge from empty"]["seconds"],
        "noop_reads": ours_noop["reads"],
        "noop_writes": ours_noop["writes"],
        "noop_seconds": ours_noop["seconds"],
        "deep_noop_reads": rows["ours: no-op deep resync"]["reads"],
        "deep_noop_writes": rows["ours: no-op deep resync"]["writes"],
        "edit_writes": rows["ours: one partner edit"]["writes"],
        "edit_reads": rows["ours: one partner edit"]["reads"],
        "naive_converge_calls": rows["naive: converge from empty"]["calls"],
        "naive_converge_seconds": rows["naive: converge from empty"]["seconds"],
        "naive_noop_calls": naive_noop["calls"],
        "naive_noop_writes": naive_noop["writes"],
        "naive_noop_seconds": naive_noop["seconds"],
        "naive_edit_writes": rows["naive: one partner edit"]["writes"],
        "noop_ratio": round(naive_noop["calls"] / max(ours_noop["calls"], 1), 1),
        "edit_ratio": round(rows["naive: one partner edit"]["writes"]
                            / max(rows["ours: one partner edit"]["writes"], 1), 1),
        "setup_seconds": round(setup_seconds, 1),
        "headroom": noop.headroom.to_dict() if noop.headroom else None,
    }
    return {"rows": rows, "json": summary}


def print_table(result: dict[str, Any]) -> None:
    rows = result["rows"]
    summary = result["json"]
    print(f"Reconciler benchmark: {summary['partners']} partner environments "
          f"(moto server, setup {summary['setup_seconds']} s)")
    print(f"{'run':34} {'calls':>7} {'reads':>7} {'writes':>7} {'seconds':>8}")
    for label, row in rows.items():
        print(f"{label:34} {row['calls']:7d} {row['reads']:7d} {row['writes']:7d} "
              f"{row['seconds']:8.2f}")
    print()
    for label in ("ours: no-op resync", "ours: one partner edit", "naive: no-op resync"):
        operations = ", ".join(f"{op} {count}" for op, count in rows[label]["by_operation"].items())
        print(f"{label}: {operations}")
    print()
    print(f"no-op ratio (naive calls / ours): {summary['noop_ratio']}   "
          f"edit ratio (naive writes / ours): {summary['edit_ratio']}")
    print(f"goals: noop_writes 0 -> {summary['noop_writes']}, edit_writes <= 4 -> "
          f"{summary['edit_writes']}, noop_ratio >= 50 -> {summary['noop_ratio']}")


if __name__ == "__main__":
    main()
