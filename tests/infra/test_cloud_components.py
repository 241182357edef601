"""Components built one by one under mocks, asserting on their outputs (STYLE.md)."""

from __future__ import annotations

import pulumi
import pytest

from tests.infra.cloud_mocks import RecordingMocks

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MOCKS = RecordingMocks("eu-west-1")
pulumi.runtime.set_mocks(MOCKS, project="partner-event-gateway", stack="dev", preview=False)

from infra.cloud import Identity, IdentityArgs, Storage, StorageArgs  # noqa: E402
from infra.spec import stage_spec  # noqa: E402

SPEC = stage_spec("dev")


@pytest.fixture(autouse=True)
def mocks() -> RecordingMocks:
    # Another module may have installed its own mocks since this one was imported.
    pulumi.runtime.set_mocks(MOCKS, project="partner-event-gateway", stack="dev", preview=False)
    return MOCKS


@pulumi.runtime.test
def test_storage_exposes_every_table_bucket_and_queue_of_the_spec() -> pulumi.Output:
    storage = Storage("storage", StorageArgs(spec=SPEC))

    def check(values: list) -> None:
        tables, buckets, queues = values
        assert sorted(tables) == sorted(t.name for t in SPEC.tables.values())
        assert sorted(buckets) == sorted(b.name for b in SPEC.buckets.values())
        assert all(arn.startswith("arn:aws:sqs:") for arn in queues)

    return pulumi.Output.all(
        pulumi.Output.all(*[t.name for t in storage.tables.values()]),
        pulumi.Output.all(*[b.bucket for b in storage.buckets.values()]),
        pulumi.Output.all(*[q.arn for q in storage.queues.values()]),
    ).apply(check)


@pulumi.runtime.test
def test_request_log_table_has_a_stream_for_the_projector() -> pulumi.Output:
    storage = Storage("storage-stream", StorageArgs(spec=SPEC))
    table = storage.tables["request_events"]
    return pulumi.Output.all(table.stream_enabled, table.stream_view_type).apply(
        lambda values: assert_equal(values, [True, "NEW_IMAGE"]))


@pulumi.runtime.test
def test_identity_has_the_groups_and_console_client() -> pulumi.Output:
    assert SPEC.user_pool is not None
    identity = Identity("identity", IdentityArgs(user_pool=SPEC.user_pool, protect_data=True))
    return pulumi.Output.all(
        identity.groups["admins"].name, identity.groups["partners"].name,
        identity.console_client.name, identity.user_pool.deletion_protection,
    ).apply(lambda values: assert_equal(
        values, ["admins", "partners", SPEC.user_pool.client_name, "ACTIVE"]))


def assert_equal(actual: list, expected: list) -> None:
    assert actual == expected
