"""The delivery log's retention is a stack setting: `deliveriesTtlDays` (30 by default) reaches
every function as `PGW_DELIVERIES_TTL_DAYS` (the `deliveries` table expires items by TTL)."""

from __future__ import annotations

from typing import Any

import pytest

from partners.core.constants import Env
from tests.infra.cloud_mocks import PROJECT, build_stack

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FUNCTION = "aws:lambda/function:Function"


def ttl_days(stack: Any) -> set[str]:
    return {f.inputs["environment"]["variables"][Env.DELIVERIES_TTL_DAYS]
            for f in stack.of_type(FUNCTION)
            if Env.DELIVERIES_TABLE in f.inputs.get("environment", {}).get("variables", {})}


def test_the_default_is_30_days_and_the_setting_changes_it() -> None:
    assert ttl_days(build_stack("dev")) == {"30"}
    assert ttl_days(build_stack("dev", overrides={f"{PROJECT}:deliveriesTtlDays": 7})) == {"7"}


@pytest.mark.parametrize("value", [0, -1, 1.5])
def test_a_ttl_that_is_not_a_positive_whole_number_is_refused(value: Any) -> None:
    with pytest.raises(Exception, match="deliveriesTtlDays"):
        build_stack("dev", overrides={f"{PROJECT}:deliveriesTtlDays": value})
