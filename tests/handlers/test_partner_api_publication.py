"""Repeated status posts publish `Request Status Changed` once, not once per repeat.

The request log is the idempotency record of status posts and records how each change's
publication ended (`request.status_publication`): a repeat publishes only when the first
publication is known to have failed (the 503 path) or was abandoned past its lease, and
claims it first, so concurrent repeats publish it once between them.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import EndpointConnectionError

from partners.requests import STATUS_PUBLICATION, command_id, payload_digest
from tests.atomic_writes import atomic_dynamodb_writes  # noqa: F401 (fixture)

BODY = {"status": "accepted", "note": "on it"}
IN_PROGRESS = "urn:pgw:problem:request-in-progress"


@pytest.fixture
def world(shared_world):
    """This module's tests share one provisioned stage (see `shared_world`)."""
    return shared_world


@pytest.fixture
def setup(world):
    partner = world.partner("pub")
    token = world.token(partner.id, "prod")
    request_id = world.create_request()
    world.route(request_id, partner.id)
    return world, partner, token, request_id


class Bus:
    """The real EventBridge client, counting what reaches it; `refuse` fails every entry,
    `hold` keeps the first call waiting until `release` is set."""

    def __init__(self, real, *, refuse: bool = False, hold: bool = False):
        self.real, self.refuse, self.hold = real, refuse, hold
        self.entries: list[dict] = []
        self.entered, self.release = threading.Event(), threading.Event()
        self._lock = threading.Lock()

    def put_events(self, Entries):
        if self.hold and not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(10)
        if self.refuse:
            return {"FailedEntryCount": len(Entries),
                    "Entries": [{"ErrorCode": "InternalFailure"} for _ in Entries]}
        with self._lock:
            self.entries.extend(Entries)
        return self.real.put_events(Entries=Entries)

    def statuses(self) -> list[str]:
        return [json.loads(e["Detail"])["status"] for e in self.entries]


@pytest.fixture
def bus(world, monkeypatch):
    """Install a `Bus` on the partner API (the same dependencies every thread uses)."""
    deps = world.handlers["partner_api"].dependencies.get()
    real = deps.events

    def install(**options) -> Bus:
        installed = Bus(real, **options)
        monkeypatch.setattr(deps, "events", installed)
        return installed

    return install


def publications(world, request_id) -> list[str]:
    log = world.handlers["partner_api"].dependencies.get().log
    return [e.data["outcome"] for e in log.events(request_id) if e.type == STATUS_PUBLICATION]


def concurrent_posts(world, request_id, token, count=20):
    def post(_):
        return world.post_status(request_id, token, BODY, key="same-key")

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(post, range(count)))


def assert_accepted_or_in_progress(responses):
    statuses = [r.status for r in responses]
    assert set(statuses) <= {202, 409} and 202 in statuses, statuses
    assert all(r.json()["type"] == IN_PROGRESS and r.headers["Retry-After"] == "1"
               for r in responses if r.status == 409)
    accepted = [r.json() for r in responses if r.status == 202]
    assert all(body == accepted[0] for body in accepted)


def test_repeats_after_a_published_post_publish_nothing(setup, bus):
    world, _, token, request_id = setup
    tap = bus()
    first = world.post_status(request_id, token, BODY, key="once")
    repeats = [world.post_status(request_id, token, BODY, key="once") for _ in range(5)]
    assert first.status == 202 and all(r.status == 202 for r in repeats)
    assert all(r.json() == first.json() for r in repeats)
    assert tap.statuses() == ["accepted"]
    assert publications(world, request_id) == ["published"]


def test_20_concurrent_identical_posts_publish_exactly_once(setup, bus,
                                                             atomic_dynamodb_writes):
    world, _, token, request_id = setup
    tap = bus()
    responses = concurrent_posts(world, request_id, token)
    assert_accepted_or_in_progress(responses)
    assert tap.statuses() == ["accepted"]
    # once the first has finished, every repeat answers 202 and still publishes nothing
    again = world.post_status(request_id, token, BODY, key="same-key")
    assert again.status == 202 and len(tap.entries) == 1


def test_a_repeat_while_the_first_post_publishes_is_409_and_publishes_nothing(setup, bus):
    world, _, token, request_id = setup
    tap = bus(hold=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(world.post_status, request_id, token, BODY, key="slow")
        assert tap.entered.wait(10)
        during = world.post_status(request_id, token, BODY, key="slow")
        tap.release.set()
        assert first.result().status == 202
    assert during.status == 409 and during.json()["type"] == IN_PROGRESS
    assert during.headers["Retry-After"] == "1"
    after = world.post_status(request_id, token, BODY, key="slow")
    assert after.status == 202 and after.json() == first.result().json()
    assert tap.statuses() == ["accepted"]


def test_a_repeat_after_a_refused_publish_publishes_exactly_once(setup, bus,
                                                                 atomic_dynamodb_writes):
    world, _, token, request_id = setup
    bus(refuse=True)
    refused = world.post_status(request_id, token, BODY, key="same-key")
    assert refused.status == 503 and refused.headers["Retry-After"] == "1"
    assert publications(world, request_id) == ["failed"]
    tap = bus()
    responses = concurrent_posts(world, request_id, token)
    assert_accepted_or_in_progress(responses)
    assert tap.statuses() == ["accepted"]
    assert publications(world, request_id) == ["failed", "claimed", "published"]
    again = world.post_status(request_id, token, BODY, key="same-key")
    assert again.status == 202 and len(tap.entries) == 1
    log = world.handlers["partner_api"].dependencies.get().log
    assert [e.type for e in log.events(request_id)].count("request.status_changed") == 1


def test_a_failed_publish_that_raised_is_published_by_the_next_repeat(setup, bus):
    world, _, token, request_id = setup

    class Broken:
        def put_events(self, Entries):
            raise EndpointConnectionError(endpoint_url="https://events.us-east-1.amazonaws.com")

    deps = world.handlers["partner_api"].dependencies.get()
    real = deps.events
    deps.events = Broken()
    try:
        failed = world.post_status(request_id, token, BODY, key="raised")
    finally:
        deps.events = real
    assert failed.status == 503 and publications(world, request_id) == ["failed"]
    tap = bus()
    assert world.post_status(request_id, token, BODY, key="raised").status == 202
    assert tap.statuses() == ["accepted"]


def test_an_abandoned_publication_is_published_once_after_its_lease(setup, bus):
    world, partner, token, request_id = setup
    deps = world.handlers["partner_api"].dependencies.get()
    # A post that appended its change and died before publishing (the Lambda timed out).
    deps.log.change_status(
        request_id, partner_id=partner.id, environment="prod", partner_name=partner.display_name,
        status=BODY["status"], note=BODY["note"],
        command_id=command_id(f"{partner.id}#prod#{request_id}#gone"),
        payload_digest=payload_digest(BODY))
    tap = bus()
    early = world.post_status(request_id, token, BODY, key="gone")
    assert early.status == 409 and early.json()["type"] == IN_PROGRESS and not tap.entries
    world.clock.advance(seconds=deps.log.publish_lease.total_seconds() + 1)
    late = world.post_status(request_id, token, BODY, key="gone")
    assert late.status == 202 and tap.statuses() == ["accepted"]
    assert world.post_status(request_id, token, BODY, key="gone").status == 202
    assert len(tap.entries) == 1
