"""Stand-ins that record what the domain asked of its callables (tests share them)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecordedTrigger:
    """The reconcile trigger as the tests see it: every partner id it was asked for."""

    calls: list[str] = field(default_factory=list)
    succeed: bool = True

    def __call__(self, partner_id: str) -> bool:
        self.calls.append(partner_id)
        return self.succeed


@dataclass
class RecordedFlush:
    """The authorizer-cache flush as the tests see it: how often it was asked."""

    calls: int = 0
    succeed: bool = True

    def __call__(self) -> bool:
        self.calls += 1
        return self.succeed


class FakeHttp:
    """An HTTP call that answers from a script (an exception is raised) and records each call."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, target, body, headers):
        self.calls.append((target, body, headers))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
