"""Login throttling per account and per client address, in a sliding window.

Cognito has its own protections; this one answers sooner and without revealing whether an
account exists (an unknown account is throttled exactly like a known one). State is kept per
process: on AWS each console container throttles on its own, which bounds the attempts one
address can make per container and window; the window and limits are class attributes.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict, deque
from datetime import timedelta

from console.exceptions import AccountLockedError
from partners.core.clock import Clock, utc_now


class LoginThrottle:
    """Count failed logins; refuse more than `per_account` / `per_address` within `window`."""

    window = timedelta(minutes=15)
    per_account = 5
    per_address = 20

    def __init__(self, *, clock: Clock = utc_now):
        self._clock = clock
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    @staticmethod
    def _keys(account: str, address: str) -> tuple[str, str]:
        return f"account:{account.strip().lower()}", f"address:{address}"

    def _prune(self, key: str) -> deque:
        failures = self._failures[key]
        horizon = self._clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    def check(self, account: str, address: str) -> None:
        """Raise `AccountLockedError` when either key has used up its failures."""
        account_key, address_key = self._keys(account, address)
        with self._lock:
            for key, limit in ((account_key, self.per_account), (address_key, self.per_address)):
                failures = self._prune(key)
                if len(failures) >= limit:
                    retry = failures[0] + self.window - self._clock()
                    raise AccountLockedError(max(1, math.ceil(retry.total_seconds())))

    def failed(self, account: str, address: str) -> None:
        with self._lock:
            for key in self._keys(account, address):
                self._prune(key).append(self._clock())

    def succeeded(self, account: str, address: str) -> None:
        """Forget the account's failures (the address keeps its count: one good password
        must not reset a spray across many accounts)."""
        account_key, _ = self._keys(account, address)
        with self._lock:
            self._failures.pop(account_key, None)
