"""The `deliveries` table in moto, created from the stage spec (keys, indexes, TTL)."""

from __future__ import annotations

import pytest

from partners.deliveries import DeliveryStore
from tests.partners.deliveries.builders import PREFIX


@pytest.fixture
def deliveries_table(aws, spec):
    from infra.local.provision import _create_table

    table = spec.tables["deliveries"]
    _create_table(aws.client("dynamodb"), table)
    return table.name


@pytest.fixture
def store(deliveries_table, aws, clock):
    return DeliveryStore(deliveries_table, prefix=PREFIX, boto3_session=aws, clock=clock)
