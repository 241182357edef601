"""Patches of moto's DynamoDB (speed only: the same items, in the same order, same paging)."""

from __future__ import annotations

import inspect
import threading
from typing import Any

from infra.local.patches.registry import MOTO_5_2, Patch

QUERY_DOC = "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html"

# The partition a table query on this thread is reading: (table, hash key) or None.
_partition = threading.local()


def query_one_partition() -> None:
    """A table `Query` (no index) reads its own partition instead of the whole sorted table.

    Targets moto >=5.2.5,<5.3: `moto.dynamodb.models.table.Table.query` and
    `Table.all_items`.
    AWS: a Query reads the items of one partition key value, sorted by sort key.
    Why: moto's `Table.query` sorts every item of the table, of every partition, then keeps
    those of the one partition asked for: O(n log n) in the table's size per query. The
    request log grows by a few items per request and is queried by partition on every
    append, so under load most of the process's time went there. While such a query runs on
    this thread, `all_items()` gives exactly that partition's items (moto already keeps them
    as a dict, `Table.items[hash_key]`), and moto's code does the rest unchanged (range
    conditions, filters, paging, projections).
    Follows: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html
    """
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items
    # Where `index_name` sits in moto's signature (the backend passes it by position).
    index_position = list(inspect.signature(original_query).parameters).index("index_name") - 2

    def all_items(self: Any) -> list[Any]:
        reading = getattr(_partition, "reading", None)
        if reading is None or reading[0] is not self:
            return original_all_items(self)
        partition = self.items.get(reading[1])  # `get`: never adds a key to the defaultdict
        if partition is None:
            return []
        return list(partition.values()) if self.range_key_attr else [partition]

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = (args[index_position] if len(args) > index_position
                      else kwargs.get("index_name"))
        if index_name or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        outer = getattr(_partition, "reading", None)
        _partition.reading = (self, hash_key)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _partition.reading = outer

    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]


TRANSACT_DOC = \
    "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html"
# One per process: moto's transactions copy every table of their backend.
_writes = threading.RLock()
ITEM_OPERATIONS = ("transact_write_items", "transact_get_items", "put_item", "get_item",
                   "update_item", "delete_item", "query", "scan", "batch_get_item")


def isolate_transactions() -> None:
    """TransactWriteItems does not race with the other writes of the backend.

    Targets moto >=5.2.5,<5.3: `moto.dynamodb.models.DynamoDBBackend.transact_write_items`
    and the item operations (`ITEM_OPERATIONS`).
    AWS: a transaction is all-or-nothing and isolated from concurrent writes.
    Why: moto keeps a rollback copy by `copy.deepcopy` of every table, which fails with
    "dictionary changed size during iteration" (an HTTP 500) while another thread changes any
    table; the embedded stack calls DynamoDB from many threads (several execution
    environments per function). Reads change tables too (`Table.items` is a defaultdict that
    a GetItem of a new key grows), so every item operation takes one lock.
    Follows: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
    """
    from moto.dynamodb.models import DynamoDBBackend

    def locked(original: Any) -> Any:
        def write(backend: Any, *args: Any, **kwargs: Any) -> Any:
            with _writes:
                return original(backend, *args, **kwargs)
        write.__wrapped__ = original  # type: ignore[attr-defined]
        return write

    for name in ITEM_OPERATIONS:
        setattr(DynamoDBBackend, name, locked(getattr(DynamoDBBackend, name)))


PATCHES = (
    Patch(query_one_partition, (MOTO_5_2,), QUERY_DOC),
    Patch(isolate_transactions, (MOTO_5_2,), TRANSACT_DOC),
)
