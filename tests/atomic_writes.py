"""DynamoDB's atomic conditional writes, for concurrency tests on moto.

DynamoDB evaluates a write's condition and applies the write atomically; moto 5.2.5 checks
and then writes without a lock, so two threads can both pass `attribute_not_exists(...)`
now and then. Concurrency tests that prove "exactly one wins" patch this in, so a failure
means our code is wrong, not that moto raced.
"""

from __future__ import annotations

import functools
import threading
from typing import Iterator

import pytest

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


@pytest.fixture
def atomic_dynamodb_writes() -> Iterator[None]:
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    patch = pytest.MonkeyPatch()
    for name in _WRITES:
        original = getattr(DynamoDBBackend, name)

        @functools.wraps(original)
        def locked(self, *args, __original=original, **kwargs):
            with lock:
                return __original(self, *args, **kwargs)

        patch.setattr(DynamoDBBackend, name, locked)
    yield
    patch.undo()
