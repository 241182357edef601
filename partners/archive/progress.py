"""Where a replay stands: its state and how far through its window it is.

Progress comes from `DescribeReplay`: the state and how far `EventLastReplayedTime` is
through the window (replays run in one-minute buckets, not in event order, so the fraction
is an estimate that only reaches 1.0 when the replay completed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from partners.core.clock import isoformat

FINAL_STATES = frozenset({"COMPLETED", "CANCELLED", "FAILED"})


@dataclass(frozen=True)
class ReplayProgress:
    """Where a replay stands."""

    name: str
    state: str
    window_start: datetime
    window_end: datetime
    last_replayed: datetime | None = None
    reason: str = ""
    filter_arns: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        """Whether the replay is over (completed, cancelled or failed)."""
        return self.state in FINAL_STATES

    @property
    def fraction(self) -> float:
        """Share of the window replayed so far (1.0 when completed)."""
        if self.state == "COMPLETED":
            return 1.0
        if self.last_replayed is None:
            return 0.0
        total = (self.window_end - self.window_start).total_seconds()
        if total <= 0:
            return 1.0
        covered = (self.last_replayed - self.window_start).total_seconds()
        return max(0.0, min(1.0, covered / total))

    def describe(self) -> str:
        """One line for an operator: `name STATE 42% (last replayed ... of ...-...)`."""
        last = isoformat(self.last_replayed) if self.last_replayed else "-"
        line = (f"{self.name} {self.state} {self.fraction:.0%} (last replayed {last}; window "
                f"{isoformat(self.window_start)} .. {isoformat(self.window_end)})")
        return f"{line}: {self.reason}" if self.reason else line


def _epoch_or_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(value), tz=timezone.utc)


def progress_from(description: Mapping[str, Any]) -> ReplayProgress:
    """A `ReplayProgress` from a `DescribeReplay` response.

    Parameters
    ----------
    description: the response (times as datetimes, as boto3 gives them, or epoch seconds).

    Returns
    -------
    ReplayProgress: the replay's state, window, last replayed time and filter ARNs.
    """
    destination = description.get("Destination") or {}
    return ReplayProgress(
        name=description["ReplayName"], state=description.get("State", "STARTING"),
        window_start=_epoch_or_datetime(description["EventStartTime"]),  # type: ignore[arg-type]
        window_end=_epoch_or_datetime(description["EventEndTime"]),  # type: ignore[arg-type]
        last_replayed=_epoch_or_datetime(description.get("EventLastReplayedTime")),
        reason=description.get("StateReason", "") or "",
        filter_arns=tuple(destination.get("FilterArns") or ()),
    )
