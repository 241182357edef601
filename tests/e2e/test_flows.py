"""Flows A-E on the embedded stack, over HTTP only (and the AWS CLI against moto).

Demo partners (infra/local/demo.py): Acme Logistics pushes to the sample partner and wants
`delivery.quote` and `stock.check` with a region starting `eu-`; Globex Parts polls and wants
every `stock.check`; Initech awaits approval. The tests run in file order: the last ones
fail an endpoint and suspend a partner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from infra.local.servers import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def delivered(stack, request_id: str) -> list[dict]:
    return stack.received(request_id=request_id)["deliveries"]


def routes(stack, request_id: str) -> set[tuple[str, str, str]]:
    view = stack.portal("GET", f"/requests/{request_id}").json()
    return {(r["partner_id"], r["environment"], r["mode"]) for r in view["routes"]}


def test_portal_requests_reach_exactly_the_matching_partner_environments(stack):
    acme, globex = stack.partner("acme-logistics")["id"], stack.partner("globex-parts")["id"]
    both = stack.create_request("test", "stock.check", "eu-west-1")
    nobody = stack.create_request("test", "delivery.quote", "us-east-1")
    prod = stack.create_request("prod", "stock.check", "eu-central-1")
    globex_only = stack.create_request("test", "stock.check", "us-west-2")
    stack.idle()

    assert routes(stack, both) == {(acme, "test", "push"), (globex, "test", "poll")}
    assert routes(stack, nobody) == set()
    assert routes(stack, prod) == {(acme, "prod", "push"), (globex, "prod", "poll")}
    assert routes(stack, globex_only) == {(globex, "test", "poll")}

    [delivery] = delivered(stack, both)
    # A CloudEvent, sent by EventBridge with the connection's API key (the sample partner
    # refuses anything else), for the environment of the request.
    assert delivery["type"] == "marketplace.request.created"
    assert delivery["user_agent"] == "Amazon/EventBridge/ApiDestinations"
    assert delivery["account"] == "acme-logistics" and delivery["environment"] == "test"
    assert delivery["data"]["attributes"] == {"region": "eu-west-1"}
    assert delivered(stack, nobody) == [] and delivered(stack, globex_only) == []
    assert [d["environment"] for d in delivered(stack, prod)] == ["prod"]
    assert stack.received(limit=0)["rejected"] == 0


def test_the_poll_partner_pages_its_inbox_and_answers(stack):
    first = stack.create_request("test", "stock.check", "ap-south-1")
    second = stack.create_request("test", "stock.check", "sa-east-1")
    other_type = stack.create_request("test", "repair.booking", "eu-west-1")
    stack.idle()
    seen, cursor, pages = [], None, 0
    while True:
        params = {"status": "pending", "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = stack.as_partner("globex-parts", "test", "GET", "/v1/requests", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 1
        seen += [item["request_id"] for item in body["items"]]
        pages += 1
        cursor = body.get("next_cursor")
        if not cursor:
            break
    assert {first, second} <= set(seen) and other_type not in seen and pages >= 2
    # Another environment of the same partner sees none of them.
    prod_page = stack.as_partner("globex-parts", "prod", "GET", "/v1/requests",
                                 params={"limit": 100}).json()
    assert not {first, second} & {i["request_id"] for i in prod_page["items"]}
    # The poll partner posts a status; a retry with the same key changes nothing.
    key = str(uuid.uuid4())
    answers = [stack.as_partner("globex-parts", "test", "POST", f"/v1/requests/{first}/status",
                                json={"status": "received"}, headers={"Idempotency-Key": key})
               for _ in range(2)]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()
    stack.idle()
    view = stack.as_partner("globex-parts", "test", "GET", f"/v1/requests/{first}").json()
    assert view["status"] == "received"
    # A partner the request was not routed to cannot see it.
    assert stack.as_partner("acme-logistics", "test", "GET",
                            f"/v1/requests/{first}").status_code == 404


def test_statuses_flow_back_and_reach_the_user_by_sms_and_email(stack):
    user = f"user-{uuid.uuid4().hex[:8]}"
    contact = stack.portal("PUT", f"/users/{user}/contact", json={
        "email": f"{user}@example.com", "phone": "+14155550123",
        "channels": ["sms", "email"]})
    assert contact.status_code in (200, 201), contact.text
    request_id = stack.create_request("test", "delivery.quote", "eu-north-1", user_id=user)
    stack.idle()
    [delivery] = delivered(stack, request_id)
    assert [s["status"] for s in delivery["statuses"]] == [
        "received", "in_progress", "accepted", "fulfilled"]
    assert all(s["http_status"] == 202 for s in delivery["statuses"])
    view = stack.as_partner("acme-logistics", "test", "GET", f"/v1/requests/{request_id}")
    assert view.json()["status"] == "fulfilled"
    portal_view = stack.portal("GET", f"/requests/{request_id}").json()
    assert [r["status"] for r in portal_view["routes"]] == ["fulfilled"]

    texts = [m["message"] for m in stack.sms() if m["phone_number"] == "+14155550123"
             and request_id in m["message"]]
    assert len(texts) == 4 and all(len(t) <= 160 for t in texts)
    emails = [m for m in stack.topic_messages() if request_id in json.dumps(m)]
    assert len(emails) == 4
    for email in emails:
        assert email["attributes"]["user_id"]["Value"] == user
        assert email["subject"]


def test_a_failing_endpoint_is_retried_then_dead_lettered_then_redriven(stack):
    acme = stack.partner("acme-logistics")
    refused_before = stack.received(limit=0)["refused"]
    switched = stack.http.post(f"{stack.sample}/mode",
                               json={"mode": "fail500", "for_seconds": 600}, timeout=10)
    assert switched.status_code == 200
    request_id = stack.create_request("test", "stock.check", "eu-south-1")
    stack.idle()
    # The test environment's policy: the first attempt and two retries, then the DLQ.
    assert stack.received(limit=0)["refused"] - refused_before == 3
    assert delivered(stack, request_id) == []
    stack.http.post(f"{stack.sample}/mode", json={"mode": "ok"}, timeout=10)

    console = stack.console_session(**acme["login"])
    failures_page = f"/partners/{acme['id']}/environments/test/failures"
    page = console.get(failures_page)
    assert page.status_code == 200 and request_id in page.text
    redriven = console.post(failures_page, f"{failures_page}/redrive", {"everything": "y"})
    assert redriven.status_code == 200 and "Redrove 1 delivery" in redriven.text
    stack.idle()
    [delivery] = delivered(stack, request_id)
    assert delivery["environment"] == "test"
    assert request_id not in console.get(failures_page).text


def test_an_event_put_with_the_aws_cli_reaches_the_sample_partner(stack):
    request_id = f"cli-{uuid.uuid4().hex[:12]}"
    detail = {"environment": "test", "request_id": request_id, "request_type": "stock.check",
              "occurred_at": "2026-11-23T10:00:00Z", "schema_version": "1",
              "user_id": "user-cli", "attributes": {"region": "eu-west-3"}}
    entries = [{"EventBusName": "pgw-local-marketplace", "Source": "marketplace.requests",
                "DetailType": "Request Created", "Detail": json.dumps(detail)}]
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                   "AWS_DEFAULT_REGION": "us-east-1"}
    environment.pop("AWS_SESSION_TOKEN", None)
    environment.pop("AWS_SECURITY_TOKEN", None)
    aws = Path(sys.executable).with_name("aws")
    result = subprocess.run(
        [str(aws), "events", "put-events", "--endpoint-url", stack.aws,
         "--entries", json.dumps(entries)],
        env=environment, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["FailedEntryCount"] == 0
    stack.idle()
    [delivery] = delivered(stack, request_id)
    assert delivery["account"] == "acme-logistics"


def test_a_suspended_partner_gets_nothing_more(stack):
    acme, globex = stack.partner("acme-logistics"), stack.partner("globex-parts")
    admin = stack.console_session(stack.demo["admin"]["email"], stack.demo["admin"]["password"])
    page = f"/admin/partners/{acme['id']}"
    answer = admin.post(page, f"{page}/suspend", {"reason": "end-to-end test: suspended"})
    assert answer.status_code == 200 and "Suspended" in answer.text
    try:
        stack.idle()
        request_id = stack.create_request("test", "stock.check", "eu-west-1")
        stack.idle()
        assert delivered(stack, request_id) == []
        assert routes(stack, request_id) == {(globex["id"], "test", "poll")}
        # Its API token no longer opens the partner API, and the refusal says why.
        refused = stack.as_partner("acme-logistics", "test", "GET", "/v1/requests")
        assert refused.status_code == 403
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["reason"] == "partner is suspended"
    finally:
        # The stack is shared by every e2e file of this process, in any order: leave Acme
        # as the demo made it.
        answer = admin.post(page, f"{page}/reinstate", {})
        assert answer.status_code == 200 and "reinstated" in answer.text
        stack.idle()
    assert stack.as_partner("acme-logistics", "test", "GET", "/v1/requests").status_code == 200


def test_one_ctrl_c_stops_make_run(tmp_path):
    demo_file = tmp_path / "demo.json"
    environment = {**os.environ, "PGW_AWS_PORT": str(free_port()),
                   "PGW_CONSOLE_PORT": str(free_port()), "PGW_API_PORT": str(free_port()),
                   "PGW_SAMPLE_PARTNER_PORT": str(free_port())}
    process = subprocess.Popen([sys.executable, "-m", "infra.local", "--demo-file",
                                str(demo_file)], cwd=ROOT, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not demo_file.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert demo_file.exists(), process.communicate(timeout=10)[0][-3000:]
    demo = json.loads(demo_file.read_text())
    assert set(demo) >= {"console", "partner_api", "aws_endpoint", "sample_partner", "admin",
                         "portal_token", "partners"}
    assert {p["status"] for p in demo["partners"]} == {"approved", "pending_approval"}
    assert oct(demo_file.stat().st_mode & 0o777) == "0o600"
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output[-3000:]
    assert demo["admin"]["password"] in output and demo["console"] in output
