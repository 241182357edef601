"""Which tables each function reads, appends to or writes: the reviewed table access list.

`TABLE_ACCESS` says what each function does with each table it names in `infra.spec` (the
tests check the two agree). Append-only tables (the request log, the audit log) are never
granted update or delete to anyone. A new table (issue 15's `deliveries`, say) is added to
`infra.spec` and to the functions' entries here, with the access each one needs; nothing
else in the program or the embedded stack changes.
"""

from __future__ import annotations

from typing import Literal, Mapping

from infra.roles import arns
from infra.roles.statements import Statement, allow

Access = Literal["read", "append", "write", "keyed"]

READ_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
                "dynamodb:ConditionCheckItem")
# Append: create items (conditionally, never overwrite) and read them back.
APPEND_ACTIONS = (*READ_ACTIONS, "dynamodb:PutItem")
WRITE_ACTIONS = (*APPEND_ACTIONS, "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                 "dynamodb:BatchWriteItem")
# Keyed: read, create, update and delete single items by their key; no queries, no scans,
# no index (the console's sessions and login counters are only ever reached by key).
KEYED_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem",
                 "dynamodb:UpdateItem", "dynamodb:DeleteItem")
ACTIONS: Mapping[Access, tuple[str, ...]] = {
    "read": READ_ACTIONS, "append": APPEND_ACTIONS, "write": WRITE_ACTIONS,
    "keyed": KEYED_ACTIONS}

# Tables that only ever grow: nobody may update or delete their items.
APPEND_ONLY_TABLES = frozenset({"request_events", "audit"})

TABLE_ACCESS: dict[str, dict[str, Access]] = {
    # Polls and reads its own inbox partition (each item a route: its view and document
    # references; it never writes views), appends status changes (the request log is their
    # idempotency record).
    # Reads its own environment's deliveries; counts its resends (rate window items).
    # ... and audits the resends it is asked for (`delivery.resent`, append only).
    "partner_api": {"partner_inbox": "read", "request_events": "append", "deliveries": "write",
                    "audit": "append"},
    # Verifies tokens (and records their last use); reads the partner's status.
    "authorizer": {"tokens": "write", "partners": "read"},
    # Creates requests (an optional Idempotency-Key is recorded), reads their views.
    "portal_api": {"request_events": "append", "requests": "read",
                   "user_timeline": "read", "contacts": "write", "idempotency": "write"},
    "routing_recorder": {"request_events": "append"},
    # Folds the bus's log records into deliveries and health counters (read, merge, write).
    "delivery_indexer": {"deliveries": "write"},
    # Folds each changed request's log (read) into the three views (written).
    "projector": {"requests": "write", "partner_inbox": "write", "user_timeline": "write",
                  "request_events": "read"},
    # Reads the user's contact; appends permanent failures to the request's log (and folds
    # the log for changes recorded before they carried the user).
    "notifier": {"contacts": "read", "request_events": "append"},
    # Reads desired state, writes routing statuses (and the endpoint guard's records); reads
    # the delivery log to pause failing endpoints, and audits the pause and its alerts.
    "reconciler": {"partners": "write", "deliveries": "read", "audit": "append"},
    # Partner self-service and admin actions; the audit log is appended to, never changed.
    "console": {"partners": "write", "tokens": "write", "audit": "append",
                "requests": "read", "partner_inbox": "read", "request_events": "read",
                # Sign-ins (start, check, end, revoke) and login attempt counters.
                "console_sessions": "keyed",
                # The delivery log and health figures; counts resends (rate window items).
                "deliveries": "write"},
}

# Functions that list partners across the registry (the reconciler's full run, the admin
# views) need Scan on the partners table; nobody else scans.
SCAN_TABLES: Mapping[str, frozenset[str]] = {
    "reconciler": frozenset({"partners"}),
    "console": frozenset({"partners"}),
}


def table_statements(function: str) -> list[Statement]:
    """Statements granting `function` its `TABLE_ACCESS` on the tables (and their indexes)."""
    statements = []
    for logical, access in sorted(TABLE_ACCESS.get(function, {}).items()):
        if logical in APPEND_ONLY_TABLES and access == "write":
            raise ValueError(f"{function} may not update or delete {logical} (append-only)")
        actions = list(ACTIONS[access])
        if logical in SCAN_TABLES.get(function, frozenset()):
            actions.append("dynamodb:Scan")
        resources = [arns.table(logical)]
        if access != "keyed":
            resources.append(arns.table_indexes(logical))
        statements.append(allow(
            f"{access.capitalize()}{logical.title().replace('_', '')}", actions, resources))
    return statements
