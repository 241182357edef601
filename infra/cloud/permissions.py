"""Moved: the reviewed table access list is `infra.roles.tables` (data both backends read).

Kept as an alias so older imports keep working; add table access in `infra/roles/tables.py`.
"""

from infra.roles.tables import (
    ACTIONS,
    APPEND_ONLY_TABLES,
    SCAN_TABLES,
    TABLE_ACCESS,
    Access,
    table_statements,
)

__all__ = ["ACTIONS", "APPEND_ONLY_TABLES", "SCAN_TABLES", "TABLE_ACCESS", "Access",
           "table_statements"]
