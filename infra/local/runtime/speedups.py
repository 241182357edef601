"""Per-request costs of moto's server that the embedded stack cannot afford.

- moto's server finds the service of every request by listing moto's package directory and
  matching the host against every service's URL patterns, under one process-wide lock
  (`DomainDispatcherApplication.get_backend_for_host`). Profiling the embedded stack's
  delivery path showed about a fifth of the process's time there. The answer depends on the
  host name alone and never changes, so it is remembered per host.
- moto's DynamoDB `Query` on a table (not an index) sorts every item of the table, of every
  partition, then keeps the items of the one partition asked for (`Table.query` ->
  `Table.all_items`): each query costs O(n log n) in the table's size. The request log grows
  by a few items per request and is queried by partition on every append, so under load most
  of the process's time went there. Such a query now reads only its own partition, which
  moto already keeps as a dict (`Table.items[hash_key]`), and sorts that by range key as moto
  does.
- moto's EventBridge hands every event of a rule with an archive (or log group, SQS) target to
  `EventTemplateParser.parse`, which parses up to eight JSON paths with `jsonpath_ng.ext.parse`,
  and that builds a new PLY lexer and LALR parser for each path: under PutEvents load that
  was more than half of the process's time. A parsed path is an immutable expression tree,
  so each path string is parsed once and the tree reused.
- Every `backends[account]` of moto (each request, each runtime delivery) takes moto's
  process-wide backend lock and walks the list of every service's backends, although the
  account's backend exists after the first time; then it is read without the lock, as moto
  itself reads a region's backend (`AccountSpecificBackend.__getitem__`).

Behaviour is unchanged: the same items, in the same order, with the same paging.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

_installed = False
_lock = threading.Lock()


def install_server_speedups() -> None:
    """Install every speedup below (idempotent, process-wide)."""
    global _installed
    with _lock:
        if _installed:
            return
        _remember_host_lookups()
        _query_one_partition()
        _parse_json_paths_once()
        _read_known_accounts_without_lock()
        _installed = True


def _remember_host_lookups() -> None:
    """Remember moto's host -> service answer."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    known: dict[str, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host is None:
            return None
        backend = known.get(host)
        if backend is None:
            backend = original(self, host)
            if backend is not None:
                known[host] = backend
        return backend

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


# The partition a table query on this thread is reading: (table, hash key) or None.
_partition = threading.local()


def _query_one_partition() -> None:
    """A table `Query` (no index) reads its own partition instead of the whole sorted table.

    moto's `Table.query` keeps `item.hash_key == hash_key` of `all_items()` and sorts the
    result by range key; `all_items()` here gives exactly that partition's items while such
    a query runs on this thread, and moto's code does the rest unchanged (range conditions,
    filters, paging, projections).
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


def _parse_json_paths_once() -> None:
    """`jsonpath_ng.ext.parse(path)` parses each path string once (the trees are not mutated
    by `find`, nor by anyone who only reads; moto imports `parse` at each call, so the module
    attribute is what it gets)."""
    import functools

    import jsonpath_ng.ext

    original = jsonpath_ng.ext.parse

    @functools.lru_cache(maxsize=1024)
    def parsed(path: str) -> Any:
        return original(path)

    def parse(path: str, debug: bool | None = None) -> Any:
        if debug or not isinstance(path, str):
            return original(path, debug=debug)
        return parsed(path)

    jsonpath_ng.ext.parse = parse  # type: ignore[assignment]


def _read_known_accounts_without_lock() -> None:
    """`BackendDict[account]` without the lock once the account's backend exists (moto adds
    the account and registers the dict under its lock, and a reset clears both)."""
    from moto.core.base_backend import BackendDict

    original = BackendDict.__getitem__

    def getitem(self: Any, account_id: str) -> Any:
        backend = dict.get(self, account_id)
        if backend is not None:
            return backend
        return original(self, account_id)

    BackendDict.__getitem__ = getitem  # type: ignore[method-assign]
