"""The partner registry against moto DynamoDB: create, read, list, optimistic concurrency."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from partners.core.exceptions import ValidationError
from partners.onboarding.exceptions import (
    IllegalTransitionError,
    PartnerConflictError,
    PartnerNotFoundError,
    SlugTakenError,
)
from partners.onboarding.models import (
    AuthType,
    DeliveryMode,
    EndpointAuth,
    PartnerEnvironment,
    PartnerStatus,
    RoutingState,
    RoutingStatus,
)
from partners.onboarding.registry import PartnerRegistry


@pytest.fixture
def registry(stage, aws, clock):
    return PartnerRegistry(stage.spec.tables["partners"].name, boto3_session=aws, clock=clock)


def create(registry, slug="acme", owner=None):
    return registry.create_partner(display_name="Acme Fulfilment", contact_email="Ops@Acme.io",
                                   slug=slug, owner=owner)


def test_create_and_get(registry):
    partner = create(registry, owner="user-1")
    assert partner.status is PartnerStatus.DRAFT and partner.version == 1
    assert partner.contact_email == "ops@acme.io"
    assert registry.get_partner(partner.id) == partner
    assert registry.partner_for_member("user-1") == partner
    assert registry.partner_for_member("user-2") is None


def test_slug_and_membership_are_unique(registry):
    create(registry, owner="user-1")
    with pytest.raises(SlugTakenError):
        create(registry, slug="acme")
    with pytest.raises(ValidationError, match="already created an organisation"):
        create(registry, slug="other", owner="user-1")


def test_get_unknown_partner(registry):
    with pytest.raises(PartnerNotFoundError):
        registry.get_partner("pnothere0000")


def test_save_round_trips_environments(registry):
    partner = create(registry)
    env = PartnerEnvironment(
        name="prod", mode=DeliveryMode.PUSH, endpoint_url="https://hooks.example.com/",
        auth=EndpointAuth(AuthType.API_KEY, header_name="x-api-key",
                          secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:x",
                          secret_set_on="2026-11-23T10:00:00Z"))
    saved = registry.save_partner(partner.with_environment(env))
    assert saved.version == 2
    assert registry.get_partner(partner.id).environments["prod"] == env


def test_stale_update_conflicts_and_overwrites_nothing(registry):
    partner = create(registry)
    first = registry.save_partner(replace(partner, display_name="First Writer"))
    with pytest.raises(PartnerConflictError) as caught:
        registry.save_partner(replace(partner, display_name="Second Writer"))
    assert caught.value.expected_version == 1
    stored = registry.get_partner(partner.id)
    assert stored.display_name == "First Writer" and stored.version == first.version


def test_concurrent_updates_one_wins(registry):
    partner = create(registry)

    def rename(i):
        try:
            return registry.save_partner(replace(partner, display_name=f"Writer {i}"))
        except PartnerConflictError:
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(rename, range(8)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert registry.get_partner(partner.id).display_name == winners[0].display_name


def test_transitions_follow_the_table(registry):
    partner = create(registry)
    with pytest.raises(IllegalTransitionError) as caught:
        registry.transition(partner, PartnerStatus.APPROVED)
    assert (caught.value.current, caught.value.target) == ("draft", "approved")
    pending = registry.transition(partner, PartnerStatus.PENDING_APPROVAL)
    approved = registry.transition(pending, PartnerStatus.APPROVED)
    assert registry.get_partner(partner.id).status is PartnerStatus.APPROVED
    suspended = registry.transition(approved, PartnerStatus.SUSPENDED, reason="abuse")
    assert suspended.status_reason == "abuse"


def test_list_by_status_pages(registry):
    ids = set()
    for i in range(5):
        p = create(registry, slug=f"partner-{i}")
        if i % 2 == 0:
            p = registry.transition(p, PartnerStatus.PENDING_APPROVAL)
            ids.add(p.id)
    page = registry.list_partners(status=PartnerStatus.PENDING_APPROVAL, limit=2)
    assert len(page.items) == 2 and page.cursor
    rest = registry.list_partners(status=PartnerStatus.PENDING_APPROVAL, limit=2,
                                  cursor=page.cursor)
    seen = {p.id for p in page.items + rest.items}
    if rest.cursor:
        seen |= {p.id for p in registry.list_partners(
            status=PartnerStatus.PENDING_APPROVAL, cursor=rest.cursor).items}
    assert seen == ids
    assert {p.id for p in registry.iter_partners()} >= ids
    assert len(list(registry.iter_partners())) == 5


def test_bad_cursor_is_a_validation_error(registry):
    with pytest.raises(ValidationError):
        registry.list_partners(cursor="%%%not-a-cursor")


def test_routing_status_is_kept_apart_from_the_profile(registry):
    partner = create(registry)
    registry.put_routing_status(RoutingStatus(partner.id, "prod", RoutingState.ERROR,
                                              reason="quota exhausted"))
    statuses = registry.routing_statuses(partner.id)
    assert statuses["prod"].label == "error: quota exhausted"
    assert registry.save_partner(partner).version == 2  # the status write bumped nothing
    registry.delete_routing_status(partner.id, "prod")
    assert registry.routing_statuses(partner.id) == {}


def test_no_secret_in_the_table(registry, aws, stage):
    partner = create(registry)
    env = PartnerEnvironment(name="prod", mode=DeliveryMode.PUSH,
                             endpoint_url="https://hooks.example.com/",
                             auth=EndpointAuth(AuthType.BASIC, username="acme",
                                               secret_arn="arn:secret"))
    registry.save_partner(partner.with_environment(env))
    items = aws.client("dynamodb").scan(TableName=stage.spec.tables["partners"].name)["Items"]
    document = json.loads(next(i for i in items if "document" in i)["document"]["S"])
    assert document["environments"]["prod"]["auth"] == {"type": "BASIC", "username": "acme",
                                                        "secret_arn": "arn:secret"}
