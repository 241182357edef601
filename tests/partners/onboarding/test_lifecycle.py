"""The partner lifecycle's transition table."""

from __future__ import annotations

import itertools

import pytest

from partners.onboarding.exceptions import IllegalTransitionError
from partners.onboarding.lifecycle import TRANSITIONS, check_transition
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
