"""What a preflight check found: PASS, WARN or FAIL, with the numbers and the fix."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Iterable, Protocol

from botocore.exceptions import BotoCoreError, ClientError

# What an AWS call of a check may raise: AWS's errors, the SDK's (no endpoint, no
# credentials), and moto's NotImplementedError for an operation it lacks. Each becomes a
# finding, never a crash.
AWS_FAILURES = (ClientError, BotoCoreError, NotImplementedError)


class Clients(Protocol):
    """A boto3 client for `service`, in the stage's region unless `region` says otherwise."""

    def __call__(self, service: str, region: str | None = None) -> Any: ...


class Status(enum.Enum):
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    """One finding: `what` was checked, `found` says what (with its numbers), `fix` what to do
    (empty for a PASS)."""

    status: Status
    what: str
    found: str
    fix: str = ""

    def line(self) -> str:
        """`PASS  what: found` (and `-> fix` when there is one), one line per finding."""
        text = f"{self.status.value}  {self.what}: {self.found}"
        return f"{text}\n      -> {self.fix}" if self.fix else text


def passed(what: str, found: str) -> Check:
    return Check(Status.PASS, what, found)


def warned(what: str, found: str, fix: str) -> Check:
    return Check(Status.WARN, what, found, fix)


def failed(what: str, found: str, fix: str) -> Check:
    return Check(Status.FAIL, what, found, fix)


def unchecked(what: str, error: BaseException, how: str) -> Check:
    """A check the account could not answer (no permission, an API the endpoint lacks): a
    WARN that says how to check by hand, never a crash and never a PASS."""
    reason = getattr(error, "response", {}).get("Error", {}).get("Code") or type(error).__name__
    return warned(what, f"could not be checked ({reason})", how)


def exit_status(checks: Iterable[Check]) -> int:
    """1 when any check failed, else 0 (warnings do not stop a deploy)."""
    return 1 if any(check.status is Status.FAIL for check in checks) else 0


def report(checks: Iterable[Check]) -> str:
    """Every finding, then a summary line with the counts."""
    checks = list(checks)
    counts = {status: sum(1 for c in checks if c.status is status) for status in Status}
    summary = ", ".join(f"{counts[s]} {s.value}" for s in Status)
    return "\n".join([*(c.line() for c in checks), f"preflight: {summary}"])
