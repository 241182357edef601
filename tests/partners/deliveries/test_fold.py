"""Folding records into deliveries: every outcome, any order, any repetition."""

from __future__ import annotations

import itertools
import random

import pytest

from partners.deliveries import AttemptOutcome, Outcome, fold, parse_record, partner_environment
from partners.deliveries.fold import fact_of
from tests.partners.deliveries.builders import PREFIX, Send


def facts(raw_records):
    return [fact_of(parse_record(r)) for r in raw_records]


def test_a_delivered_send():
    folded = fold(facts(Send().delivered()))
    assert folded.outcome is Outcome.DELIVERED and folded.resent == 0
    [attempt] = folded.attempts
    assert (attempt.outcome, attempt.http_status, attempt.duration_ms) == (
        AttemptOutcome.SUCCESS, 200, 120)


def test_failed_attempts_then_the_dead_letter_queue():
    folded = fold(facts(Send().failing_then_dead_lettered(attempts=3)))
    assert folded.outcome is Outcome.DEAD_LETTERED
    assert [(a.outcome, a.http_status) for a in folded.attempts] == [
        (AttemptOutcome.RETRYABLE_FAILURE, 500)] * 3
    assert [a.at for a in folded.attempts] == sorted(a.at for a in folded.attempts)


@pytest.mark.parametrize("steps,outcome", [
    (lambda s: [s.start()], Outcome.RETRYING),
    (lambda s: [s.start(), s.attempt("RETRYABLE_FAILURE", 1, 100, status=503)], Outcome.RETRYING),
    (lambda s: [s.attempt("THROTTLE", 1, 100, status=429)], Outcome.RETRYING),
    (lambda s: [s.attempt("PERMANENT_FAILURE", 1, 100, status=404)], Outcome.FAILED),
    (lambda s: [s.attempt("RETRYABLE_FAILURE", 1, 100, status=500),
                s.final("INVOCATION_FAILURE", 200, 1)], Outcome.FAILED),
    (lambda s: [s.final("INVOCATION_FAILURE", 200, 1), s.final("INVOCATION_DLQ", 300, 1)],
     Outcome.DEAD_LETTERED),
    (lambda s: [s.attempt("RETRYABLE_FAILURE", 1, 100, status=500),
                s.attempt("SUCCESS", 2, 2000, status=200)], Outcome.DELIVERED),
    (lambda s: [s.final("INVOCATION_SUCCESS", 300, 1)], Outcome.DELIVERED),
])
def test_each_outcome(steps, outcome):
    assert fold(facts(steps(Send()))).outcome is outcome


def test_order_and_repetition_do_not_change_the_result():
    records = Send().failing_then_dead_lettered(attempts=4)
    expected = fold(facts(records))
    shuffler = random.Random(7)
    for _ in range(20):
        mixed = records + shuffler.sample(records, k=5)  # some twice
        shuffler.shuffle(mixed)
        assert fold(facts(mixed)) == expected


def test_a_resend_is_a_second_send_of_the_same_delivery_and_its_outcome_wins():
    original = Send(event_id="ev-1", invocation_id="inv-1")
    resend = Send(event_id="ev-2", cloudevent_id="ev-1", invocation_id="inv-9",
                  start_ms=original.start_ms + 3_600_000)
    for order in itertools.permutations([original.failing_then_dead_lettered(2),
                                         resend.delivered()]):
        folded = fold(facts(order[0] + order[1]))
        assert folded.outcome is Outcome.DELIVERED and folded.resent == 1
        assert folded.event_ids == ("ev-1", "ev-2")
        assert [a.outcome for a in folded.attempts][-1] is AttemptOutcome.SUCCESS


def test_no_fact_no_delivery():
    with pytest.raises(ValueError):
        fold([])


def test_the_partner_environment_comes_from_the_rule_and_only_the_delivery_target_counts():
    send = Send(partner_id="p0123456789a", environment="test")
    assert partner_environment(parse_record(send.start()), PREFIX) == ("p0123456789a", "test")
    routing = send.start()
    routing["details"]["target_arn"] = "arn:aws:lambda:us-east-1:1:function:pgw-test-routing"
    assert partner_environment(parse_record(routing), PREFIX) is None
    other_stage = send.start()
    other_stage["details"]["rule_arn"] = "arn:aws:events:us-east-1:1:rule/b/pgw-prod-pt-p1-prod"
    other_stage["details"]["target_arn"] = (
        "arn:aws:events:us-east-1:1:api-destination/pgw-prod-pt-p1-prod/u")
    assert partner_environment(parse_record(other_stage), PREFIX) is None
