"""The partner lifecycle's transition table."""

from __future__ import annotations

import itertools

import pytest

from partners.onboarding.exceptions import IllegalTransitionError
from partners.onboarding.lifecycle import (
    SUBMISSION_PATHS,
    TRANSITIONS,
    check_transition,
    submission_path,
)
from partners.onboarding.models import PartnerStatus as S

LEGAL = {
    (S.DRAFT, S.PENDING_APPROVAL), (S.PENDING_APPROVAL, S.APPROVED),
    (S.PENDING_APPROVAL, S.REJECTED), (S.APPROVED, S.SUSPENDED), (S.SUSPENDED, S.APPROVED),
    (S.REJECTED, S.DRAFT),
} | {(s, S.DELETED) for s in S if s is not S.DELETED}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_pair(current, target):
    if (current, target) in LEGAL:
        check_transition("p1", current, target)
    else:
        with pytest.raises(IllegalTransitionError) as caught:
            check_transition("p1", current, target)
        assert current.value in str(caught.value) and target.value in str(caught.value)


def test_table_covers_every_status():
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(("current", "path"), [
    (S.DRAFT, (S.PENDING_APPROVAL,)),
    (S.REJECTED, (S.DRAFT, S.PENDING_APPROVAL)),
])
def test_submission_paths(current, path):
    assert submission_path("p1", current) == path


@pytest.mark.parametrize("current", [s for s in S if s not in (S.DRAFT, S.REJECTED)])
def test_only_draft_and_rejected_submit(current):
    with pytest.raises(IllegalTransitionError) as caught:
        submission_path("p1", current)
    assert (caught.value.current, caught.value.target) == (current.value, "pending_approval")


@pytest.mark.parametrize("current", list(SUBMISSION_PATHS))
def test_every_submission_path_is_legal_move_by_move(current):
    for before, after in zip((current, *SUBMISSION_PATHS[current]), SUBMISSION_PATHS[current]):
        check_transition("p1", before, after)
