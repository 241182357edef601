"""Concept surfaces that import some of their modules only when a name from them is used.

A concept's `__init__` is the only way in (the import-linter "surface" contracts), so whatever
it imports, every importer pays for at cold start: a handler that needs the reconciler should
not import the console's probe and preview pages with it (issue 13, cold start). A surface
keeps importing its core modules as usual, names its other exports in a table, and sets

    if TYPE_CHECKING:  # what type checkers and import-linter read
        from partners.routing.preview import preview_filter

    __getattr__ = lazy_exports(__name__, {"preview_filter": "preview"})

`from partners.routing import preview_filter` then imports `partners.routing.preview` the
first time it runs, and binds the name in the package, so later lookups are plain attribute
reads (PEP 562, https://peps.python.org/pep-0562/).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports each export on first use.

    Parameters
    ----------
    package: the concept package's `__name__`.
    exports: exported name -> the module of `package` that defines it (`"preview"`).

    Returns
    -------
    The `__getattr__` to assign in the package's `__init__`.

    Raises
    ------
    AttributeError: (from the returned function) a name the table does not list.
    """
    table = dict(exports)

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
