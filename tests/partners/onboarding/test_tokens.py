"""API tokens: issue, verify, rotate with overlap, revoke, last used."""

from __future__ import annotations

from datetime import timedelta

import pytest

from partners.core.exceptions import ValidationError
from partners.onboarding.exceptions import TokenInvalidError, TokenNotFoundError
from partners.onboarding.tokens import TOKEN_PATTERN, TokenStore, token_hash, token_prefix


@pytest.fixture
def store(stage, aws, clock):
    return TokenStore(stage.spec.tables["tokens"].name, boto3_session=aws, clock=clock)


def test_issue_shows_the_token_once_and_stores_only_its_hash(store, aws, stage):
    issued = store.issue("p1", "test", name="ci")
    assert TOKEN_PATTERN.match(issued.token)
    assert issued.token.startswith("pgw_test_")
    assert issued.record.prefix == token_prefix(issued.token)
    items = aws.client("dynamodb").scan(TableName=stage.spec.tables["tokens"].name)["Items"]
    assert len(items) == 1
    flat = repr(items)
    assert issued.token not in flat and token_hash(issued.token) in flat


def test_tokens_have_at_least_160_random_bits(store):
    import math

    issued = store.issue("p1", "prod")
    random_part = issued.token.split("_", 2)[2]
    assert len(random_part) * math.log2(62) >= 160
    assert len({store.issue("p1", "prod").token for _ in range(20)}) == 20


def test_verify_resolves_partner_and_environment(store):
    issued = store.issue("p1", "test")
    identity = store.verify(issued.token)
    assert (identity.partner_id, identity.environment) == ("p1", "test")


@pytest.mark.parametrize("bad", ["", "pgw_test_short", "Bearer x", "pgw_test_" + "A" * 32, None])
def test_verify_refuses_malformed_and_unknown(store, bad):
    store.issue("p1", "test")
    with pytest.raises(TokenInvalidError):
        store.verify(bad)


def test_verify_refuses_a_token_with_a_known_prefix_but_wrong_secret(store):
    issued = store.issue("p1", "test")
    forged = issued.token[:-1] + ("a" if issued.token[-1] != "a" else "b")
    with pytest.raises(TokenInvalidError, match="unknown"):
        store.verify(forged)


def test_last_used_is_recorded_at_most_once_a_minute(store, clock):
    issued = store.issue("p1", "test")
    store.verify(issued.token)
    first = store.get(issued.record.prefix).last_used_at
    assert first == "2026-11-23T10:00:00Z"
    clock.advance(seconds=30)
    store.verify(issued.token)
    assert store.get(issued.record.prefix).last_used_at == first
    clock.advance(seconds=31)
    store.verify(issued.token)
    assert store.get(issued.record.prefix).last_used_at == "2026-11-23T10:01:01Z"


def test_rotate_keeps_the_old_token_for_the_overlap_window(store, clock):
    old = store.issue("p1", "prod", name="main")
    new = store.rotate(old.record.prefix, overlap=timedelta(hours=2))
    assert new.record.name == "main" and new.token != old.token
    assert store.verify(old.token).partner_id == "p1"
    assert store.get(old.record.prefix).state(clock()) == "expiring"
    assert store.get(old.record.prefix).replaced_by == new.record.prefix
    clock.advance(hours=2)
    with pytest.raises(TokenInvalidError, match="expired"):
        store.verify(old.token)
    assert store.verify(new.token).environment == "prod"


def test_rotate_defaults_to_24_hours(store, clock):
    old = store.issue("p1", "prod")
    store.rotate(old.record.prefix)
    clock.advance(hours=23, minutes=59)
    store.verify(old.token)
    clock.advance(minutes=1)
    with pytest.raises(TokenInvalidError):
        store.verify(old.token)


def test_rotate_refuses_bad_overlaps_and_dead_tokens(store):
    old = store.issue("p1", "prod")
    with pytest.raises(ValidationError):
        store.rotate(old.record.prefix, overlap=timedelta(days=31))
    store.revoke(old.record.prefix)
    with pytest.raises(TokenInvalidError):
        store.rotate(old.record.prefix)
    with pytest.raises(TokenNotFoundError):
        store.rotate("pgw_prod_nothere0")


def test_revoke_is_immediate_and_idempotent(store, clock):
    issued = store.issue("p1", "prod")
    first = store.revoke(issued.record.prefix)
    clock.advance(minutes=5)
    again = store.revoke(issued.record.prefix)
    assert first.revoked_at == again.revoked_at == "2026-11-23T10:00:00Z"
    with pytest.raises(TokenInvalidError, match="revoked"):
        store.verify(issued.token)
    with pytest.raises(TokenNotFoundError):
        store.revoke("pgw_prod_nothere0")


def test_list_tokens_by_partner_and_environment(store, clock):
    a = store.issue("p1", "prod")
    clock.advance(seconds=1)
    b = store.issue("p1", "test")
    store.issue("p2", "prod")
    assert [r.prefix for r in store.list_tokens("p1")] == [b.record.prefix, a.record.prefix]
    assert [r.prefix for r in store.list_tokens("p1", "prod")] == [a.record.prefix]
