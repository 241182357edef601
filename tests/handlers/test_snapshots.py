"""SnapStart runtime hooks of the request-path handlers.

https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html: Lambda
runs the `register_before_snapshot` callables before it takes the snapshot and the
`register_after_restore` callables in every environment it resumes from it.
"""

from __future__ import annotations

import importlib
import random

import pytest
import snapshot_restore_py

from handlers import snapshots
from handlers.wiring import Wiring
from infra.spec import stage_spec


def _registered(registry: list, module_wiring: Wiring) -> list:
    return [func for func, args, _ in registry if module_wiring in args]


@pytest.mark.parametrize("logical", sorted(
    f.logical for f in stage_spec("dev").functions.values() if f.snap_start))
def test_every_request_path_handler_builds_its_dependencies_before_the_snapshot(logical):
    module = importlib.import_module(f"handlers.{logical}")
    before = _registered(snapshot_restore_py.get_before_snapshot(), module.dependencies)
    # (each copy of a handler module the embedded stack runs registers its hooks again)
    assert before and set(before) == {snapshots.build_before_snapshot}
    assert snapshots.restore_uniqueness in [
        func for func, _, _ in snapshot_restore_py.get_after_restore()]


def test_the_before_snapshot_hook_builds_the_wiring():
    built = []
    wiring = Wiring(lambda: built.append("deps") or "deps")
    snapshots.build_before_snapshot(wiring)
    assert wiring.built and wiring.get() == "deps" and built == ["deps"]


def test_environments_restored_from_one_snapshot_draw_different_sequences():
    """https://docs.aws.amazon.com/lambda/latest/dg/snapstart-uniqueness.html"""
    random.seed(1234)  # the state every environment restored from one snapshot would share
    snapshot = random.getstate()
    draws = []
    for _ in range(2):
        random.setstate(snapshot)
        snapshots.restore_uniqueness()
        draws.append([random.random() for _ in range(4)])
    assert draws[0] != draws[1]
    random.setstate(snapshot)
    assert [random.random() for _ in range(4)] != draws[0]  # and not the snapshot's own


def test_the_partner_api_builds_its_delivery_routes_before_the_snapshot_too():
    # Those routes' dependencies (the resend use case, with the onboarding concept) are built
    # on their first use otherwise, which a restored environment would pay for.
    from handlers import partner_api, partner_deliveries

    before = _registered(snapshot_restore_py.get_before_snapshot(),
                         partner_deliveries.dependencies)
    assert partner_api.deliveries_dependencies is partner_deliveries.dependencies
    # (each copy of a handler module the embedded stack runs registers its hooks again)
    assert before and set(before) == {snapshots.build_before_snapshot}
