"""Archive replay: replay a window of the bus's archive to chosen rules.

What other packages import from this concept; its modules are its own.
"""

from partners.archive.exceptions import ReplayError
from partners.archive.patterns import parse_pattern
from partners.archive.progress import ReplayProgress
from partners.archive.replay import Replayer, parse_time, rule_names

__all__ = [
    "ReplayError",
    "ReplayProgress",
    "Replayer",
    "parse_pattern",
    "parse_time",
    "rule_names",
]
