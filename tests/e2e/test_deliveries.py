"""The delivery log on the embedded stack, over HTTP only: what EventBridge did with every
request for a partner environment, read back through `GET /v1/deliveries`.

The records come from the bus's own logs (the runtime writes them, in AWS's schema, to the
log group the bus's vended delivery names; the log group's subscription filter hands them to
the indexer). Demo partner Acme Logistics pushes `stock.check` requests for `eu-*` regions to
the sample partner; its `test` environment's retry policy is the first attempt and two
retries, then the DLQ (infra/local/demo.py).
"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.e2e

PARTNER = "acme-logistics"


def deliveries(stack, request_id: str, ready=bool, timeout: float = 30) -> list[dict]:
    """The request's deliveries, once `ready(items)` holds (or `timeout` passes).

    The delivery log is folded from the bus's log records after they are written, so it
    trails the deliveries themselves: on AWS by seconds (a CloudWatch Logs subscription), here
    by an asynchronous indexer invocation a busy machine may delay past the stack's idle check.
    """
    deadline = time.monotonic() + timeout
    while True:
        answer = stack.as_partner(PARTNER, "test", "GET", "/v1/deliveries",
                                  params={"request_id": request_id})
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        if ready(items) or time.monotonic() > deadline:
            return items
        time.sleep(0.2)


def outcome(expected: str, resent: int = 0):
    """`ready` for one delivery with this outcome and this many resends."""
    return lambda items: len(items) == 1 and (items[0]["outcome"], items[0]["resent"]) == (
        expected, resent)


def set_mode(stack, mode: str) -> None:
    body = {"mode": mode, "for_seconds": 600} if mode != "ok" else {"mode": mode}
    assert stack.http.post(f"{stack.sample}/mode", json=body, timeout=10).status_code == 200


def received(stack, request_id: str) -> list[dict]:
    return stack.received(request_id=request_id)["deliveries"]


def test_failed_then_delivered_then_resent_with_the_same_cloudevent_id(stack):
    set_mode(stack, "fail500")
    failing = [stack.create_request("test", "stock.check", f"eu-west-{n}") for n in (1, 2)]
    stack.idle()
    set_mode(stack, "ok")
    healthy = [stack.create_request("test", "stock.check", f"eu-north-{n}") for n in (1, 2)]
    stack.idle()

    # Every request made while the endpoint failed: each attempt's HTTP 500, then the DLQ.
    for request_id in failing:
        [item] = deliveries(stack, request_id, outcome("dead_lettered"))
        assert item["outcome"] == "dead_lettered", item
        assert [a["http_status"] for a in item["attempts"]] == [500, 500, 500]
        assert item["request_type"] == "stock.check" and item["resent"] == 0
    # Every request after: delivered, its attempt answered 2xx.
    for request_id in healthy:
        [item] = deliveries(stack, request_id, outcome("delivered"))
        assert item["outcome"] == "delivered", item
        assert 200 <= item["attempts"][-1]["http_status"] < 300

    # A resend reaches the sample partner again with the same CloudEvent id.
    [item] = deliveries(stack, healthy[0])
    [first] = received(stack, healthy[0])
    assert first["id"] == item["cloudevent_id"] and first["times_received"] == 1
    answer = stack.as_partner(PARTNER, "test", "POST", f"/v1/deliveries/{item['id']}/resend")
    assert answer.status_code == 202, answer.text
    assert answer.json()["cloudevent_id"] == item["cloudevent_id"]
    stack.idle()
    [again] = received(stack, healthy[0])
    assert again["id"] == item["cloudevent_id"] and again["times_received"] == 2
    [resent] = deliveries(stack, healthy[0], outcome("delivered", resent=1))
    assert resent["id"] == item["id"] and resent["resent"] == 1
    assert resent["outcome"] == "delivered" and len(resent["attempts"]) == 2

    # A dead-lettered delivery, resent once the endpoint works, arrives with its id.
    [dead] = deliveries(stack, failing[0])
    answer = stack.as_partner(PARTNER, "test", "POST", f"/v1/deliveries/{dead['id']}/resend")
    assert answer.status_code == 202, answer.text
    stack.idle()
    [arrived] = received(stack, failing[0])
    assert arrived["id"] == dead["cloudevent_id"]
    [after] = deliveries(stack, failing[0], outcome("delivered", resent=1))
    assert after["outcome"] == "delivered" and after["resent"] == 1

    # A redrive from the dead-letter queue keeps the CloudEvent id too (and leaves the
    # queue empty for the flows after this file).
    acme = stack.partner(PARTNER)
    console = stack.console_session(**acme["login"])
    failures_page = f"/partners/{acme['id']}/environments/test/failures"
    redriven = console.post(failures_page, f"{failures_page}/redrive", {"everything": "y"})
    assert redriven.status_code == 200 and "Redrove 2 deliveries" in redriven.text
    stack.idle()
    [dead] = deliveries(stack, failing[1], outcome("delivered", resent=1))
    [arrived] = received(stack, failing[1])
    assert arrived["id"] == dead["cloudevent_id"]
    assert dead["outcome"] == "delivered" and dead["resent"] == 1


def test_another_environments_delivery_cannot_be_read_or_resent(stack):
    request_id = stack.create_request("test", "stock.check", "eu-south-2")
    stack.idle()
    [item] = deliveries(stack, request_id)
    for method, path in (("GET", f"/v1/deliveries/{item['id']}"),
                         ("POST", f"/v1/deliveries/{item['id']}/resend")):
        answer = stack.as_partner(PARTNER, "prod", method, path)
        assert answer.status_code == 404, (method, answer.text)
        assert answer.headers["Content-Type"].startswith("application/problem+json")
