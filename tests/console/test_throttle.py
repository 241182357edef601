"""Login throttling in the shared sessions table: atomic counts, a sliding window, hashed keys."""

from __future__ import annotations

import pytest

from console.exceptions import AccountLockedError
from console.throttle import LoginThrottle
from infra.spec import stage_spec

TABLE = stage_spec("test").tables["console_sessions"]


@pytest.fixture
def table(aws) -> str:
    aws.client("dynamodb").create_table(
        TableName=TABLE.name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": TABLE.hash_key.name, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": TABLE.hash_key.name, "AttributeType": "S"}])
    return TABLE.name


@pytest.fixture
def throttle(table, aws, clock) -> LoginThrottle:
    return LoginThrottle(table, boto3_session=aws, clock=clock)


def test_throttle_per_account_window(throttle, clock):
    for _ in range(5):
        throttle.attempt("A@x.com", "1.1.1.1")
    with pytest.raises(AccountLockedError) as error:
        throttle.attempt("a@x.com", "2.2.2.2")  # another address, the same account
    # The sliding window spreads the five over the last 15 minutes: one more fits after 18.
    assert error.value.retry_after == 18 * 60 and "18 minutes" in error.value.message
    throttle.attempt("b@x.com", "1.1.1.1")  # the address is not exhausted yet
    clock.advance(minutes=17, seconds=59)
    with pytest.raises(AccountLockedError):
        throttle.attempt("a@x.com", "1.1.1.1")
    clock.advance(seconds=1)
    throttle.attempt("a@x.com", "1.1.1.1")
    with pytest.raises(AccountLockedError):
        throttle.attempt("a@x.com", "1.1.1.1")
    clock.advance(minutes=15)  # the five have left the window, the one has not
    for _ in range(4):
        throttle.attempt("a@x.com", "1.1.1.1")
    with pytest.raises(AccountLockedError):
        throttle.attempt("a@x.com", "1.1.1.1")


def test_a_burst_at_a_window_edge_gets_no_second_allowance(throttle, clock):
    clock.advance(minutes=14, seconds=50)  # the last seconds of a window
    for _ in range(5):
        throttle.attempt("edge@x.com", "3.3.3.3")
    clock.advance(seconds=20)  # the next window has begun
    with pytest.raises(AccountLockedError) as error:
        throttle.attempt("edge@x.com", "3.3.3.3")
    assert 0 < error.value.retry_after <= 900


def test_throttle_success_resets_the_account_not_the_address(throttle):
    throttle.per_address = 3
    for name in ("a", "b"):
        throttle.attempt(f"{name}@x.com", "9.9.9.9")
    throttle.succeeded("a@x.com", "9.9.9.9")
    throttle.attempt("c@x.com", "9.9.9.9")
    with pytest.raises(AccountLockedError):
        throttle.attempt("d@x.com", "9.9.9.9")
    throttle.per_account = 1
    throttle.attempt("a@x.com", "8.8.8.8")  # the account's earlier attempt was forgotten


def test_two_instances_share_the_count(table, aws, clock):
    first, second = (LoginThrottle(table, boto3_session=aws, clock=clock) for _ in range(2))
    for instance in (first, second, first, second, first):
        instance.attempt("shared@x.com", "4.4.4.4")
    with pytest.raises(AccountLockedError):
        second.attempt("shared@x.com", "5.5.5.5")


def test_the_table_holds_no_email_or_address(throttle, aws, table):
    throttle.attempt("who@x.com", "198.51.100.7")
    items = str(aws.client("dynamodb").scan(TableName=table)["Items"])
    assert "who@x.com" not in items and "198.51.100.7" not in items
    assert "expires_at" in items
