"""SnapStart runtime hooks of the request-path functions (`FunctionSpec.snap_start`).

With SnapStart, Lambda runs a function's init phase once, when a version is published, and
resumes every new execution environment from a snapshot of it
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html). Two things follow:

- What the first invocation would build (boto3 clients, stores, validators: the handler's
  `Wiring`) is worth building before the snapshot, so no restored environment pays for it. A
  missing setting then fails the version's publication, at deploy time, not a partner's call.
- State drawn from entropy during init is shared by every environment restored from the same
  snapshot. Python's `random` module is seeded once at import, so every restored environment
  would draw the same sequence (botocore's retry jitter among them, which exists to spread
  retries apart). It is reseeded after each restore
  (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-uniqueness.html). Tokens, ids and
  keys come from `secrets`/`os.urandom`, which the kernel keeps unique.

The hooks are registered with AWS's `snapshot_restore_py` (included in the Python managed
runtimes, https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html);
outside a SnapStart environment they are never called.
"""

from __future__ import annotations

import random
from typing import Any

from snapshot_restore_py import register_after_restore, register_before_snapshot

from handlers.wiring import Wiring


def build_before_snapshot(dependencies: Wiring[Any]) -> None:
    """Build the handler's dependencies now, inside the init phase the snapshot captures."""
    dependencies.get()


def restore_uniqueness() -> None:
    """Reseed `random` from the operating system's entropy in a restored environment."""
    random.seed()


def prepare_for_snapshot(*dependencies: Wiring[Any]) -> None:
    """Register the hooks of one request-path handler module.

    Parameters
    ----------
    dependencies: the module's `Wiring`, and those of the routers it includes (each built on
        first use otherwise), all built before the snapshot.
    """
    for wiring in dependencies:
        register_before_snapshot(build_before_snapshot, wiring)
    register_after_restore(restore_uniqueness)
