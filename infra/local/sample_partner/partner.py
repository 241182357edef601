"""The sample partner's state and its status poster (the system a partner would run)."""

from __future__ import annotations

import heapq
import hmac
import itertools
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import requests

from infra.local.sample_partner.deliveries import (
    DEFAULT_API_KEY_HEADER,
    DELIVERY_PATH,
    HOOK_NAME,
    MAX_BODY_CHARS,
    MAX_FOR_SECONDS,
    MODES,
    RETRYABLE_STATUS,
    STATUS_SEQUENCE,
    Account,
    Delivery,
    HookTokenError,
    ModeError,
    check_cloudevent,
    describe_credential,
    hook_token_environment,
    masked_headers,
)
from infra.local.sample_partner.oauth import TokenEndpoint
from infra.local.sample_partner.web import create_app

# The package's name, as the sample partner's log lines always carried.
logger = logging.getLogger(__package__)


@dataclass(frozen=True)
class _Seen:
    """A request as it arrived, before it is judged."""

    method: str
    path: str
    headers: Mapping[str, str]
    raw: str

    def delivery(self, event_id: str, account: str, *, type: str, data: Mapping[str, Any],
                 answer: int = 200, note: str | None = None) -> Delivery:
        pairs = list(self.headers.items())
        request_id = data.get("request_id") if isinstance(data, Mapping) else None
        environment = data.get("environment") if isinstance(data, Mapping) else None
        return Delivery(id=event_id, account=account, received_at=_now_iso(), type=type,
                        request_id=request_id if isinstance(request_id, str) else None,
                        environment=environment if isinstance(environment, str) else None,
                        data=data, user_agent=self.headers.get("User-Agent"), note=note,
                        method=self.method, path=self.path, headers=masked_headers(pairs),
                        body=self.raw[:MAX_BODY_CHARS], credential=describe_credential(pairs),
                        answer=answer)


@dataclass(order=True)
class _Job:
    due: float
    sequence: int
    delivery: Delivery = field(compare=False)
    token: str = field(compare=False, repr=False)
    step: int = field(compare=False, default=0)
    attempt: int = field(compare=False, default=1)


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SamplePartner:
    """The sample partner's state, its status poster, and its Flask app (`self.app`).

    Parameters
    ----------
    partner_api_url: base URL of the gateway (statuses go to `<url>/v1/requests/...`).
    api_key_header: the header EventBridge's connection sends the API key in.
    status_delay: seconds between a delivery and its first status, and between statuses.
    hang_seconds: how long a delivery hangs in `timeout` mode (EventBridge gives up at 5 s).
    post_statuses: False for a partner that only receives (the benchmark's direct posts).
    developer_endpoint: the AWS endpoint whose `/_aws/sns/...` developer endpoints list what
        SNS would have sent to end users (the `/end-users` page reads them); None: no page.
    workers: threads posting statuses.
    clock: monotonic seconds, for modes and the status schedule.
    """

    max_status_attempts = 8
    # First retry delay of a status post (doubling, at most 5 s).
    status_retry_base = 0.2

    def __init__(self, partner_api_url: str, *, accounts: list[Account] | None = None,
                 api_key_header: str = DEFAULT_API_KEY_HEADER, status_delay: float = 1.0,
                 hang_seconds: float = 6.0, workers: int = 4,
                 clock: Callable[[], float] = time.monotonic,
                 statuses: tuple[str, ...] = STATUS_SEQUENCE,
                 developer_endpoint: str | None = None):
        self.partner_api_url = partner_api_url.rstrip("/")
        self.developer_endpoint = developer_endpoint.rstrip("/") if developer_endpoint else None
        self.api_key_header = api_key_header
        self.status_delay = status_delay
        self.hang_seconds = hang_seconds
        self.statuses = statuses
        self._clock = clock
        self._accounts: list[Account] = list(accounts or [])
        self._hook_tokens: dict[str, dict[str, str]] = {}  # hook -> environment -> API token
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._seen: set[tuple[str, str]] = set()
        self.counts = {"received": 0, "duplicates": 0, "rejected": 0, "refused": 0,
                       "invalid": 0, "statuses_posted": 0, "statuses_failed": 0}
        self._mode = "ok"
        self._mode_until: float | None = None
        self._jobs: list[_Job] = []
        self._job_ids = itertools.count()
        self._wakeup = threading.Condition(self._lock)
        self._stopping = False
        self._in_flight = 0
        self._threads = [threading.Thread(target=self._work, name=f"sample-partner-status-{i}",
                                          daemon=True) for i in range(workers)]
        self._local = threading.local()
        self.tokens = TokenEndpoint()  # the hooks' OAuth token endpoints
        self.app = create_app(self)

    # --- accounts and modes ----------------------------------------------------------------

    def add_account(self, account: Account) -> None:
        """Accept deliveries carrying `account.api_key` (replaces an account of that name)."""
        with self._lock:
            self._accounts = [a for a in self._accounts if a.name != account.name] + [account]

    def _account_for(self, key: str) -> Account | None:
        with self._lock:
            accounts = list(self._accounts)
        found = None
        for account in accounts:  # compare with every key, so timing says nothing
            if hmac.compare_digest(account.api_key.encode(), key.encode()):
                found = account
        return found

    def set_mode(self, mode: str, for_seconds: float | None = None) -> dict[str, Any]:
        """Answer deliveries with `mode` for `for_seconds` (or until switched back).

        Raises
        ------
        ModeError: an unknown mode, or a duration outside 1-3600 seconds.
        """
        if mode not in MODES:
            raise ModeError(f"mode must be one of {', '.join(MODES)}")
        if for_seconds is not None:
            if isinstance(for_seconds, bool) or not isinstance(for_seconds, (int, float)) \
                    or not 0 < for_seconds <= MAX_FOR_SECONDS:
                raise ModeError(f"for_seconds must be a number from 1 to {MAX_FOR_SECONDS}")
        with self._lock:
            self._mode = mode
            self._mode_until = (self._clock() + for_seconds
                                if for_seconds and mode != "ok" else None)
        return self.mode()

    def mode(self) -> dict[str, Any]:
        with self._lock:
            if self._mode_until is not None and self._clock() >= self._mode_until:
                self._mode, self._mode_until = "ok", None
            remaining = (None if self._mode_until is None
                         else round(self._mode_until - self._clock(), 1))
            return {"mode": self._mode, "remaining_seconds": remaining}

    # --- deliveries ------------------------------------------------------------------------

    def deliveries(self, *, request_id: str | None = None, environment: str | None = None,
                   limit: int = 100) -> list[dict[str, Any]]:
        """Received deliveries, newest first."""
        with self._lock:
            found = [d.to_dict() for d in reversed(self._deliveries)
                     if (request_id is None or d.request_id == request_id)
                     and (environment is None or d.environment == environment)]
        return found[:limit]

    def count_refusal(self) -> None:
        """Count a delivery refused because of the current mode."""
        with self._lock:
            self.counts["refused"] += 1

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return {**self.counts, "pending_statuses": len(self._jobs) + self._in_flight}

    def receive(self, headers: Mapping[str, str], body: Any, *, raw: str | None = None,
                method: str = "POST", path: str = DELIVERY_PATH
                ) -> tuple[int, dict[str, Any]]:
        """Handle one delivery to `/deliveries` (the demo partners' API keys); returns the
        HTTP status and JSON body to answer. `raw` is the body as received."""
        key = headers.get(self.api_key_header, "")
        account = self._account_for(key) if key else None
        if account is None:
            with self._lock:
                self.counts["rejected"] += 1
            return 401, {"title": "Unauthorized", "status": 401,
                         "detail": f"missing or wrong {self.api_key_header} header"}
        seen = _Seen(method, path, headers, raw if raw is not None else json.dumps(body))
        return self._accept(account.name, account.name, account.tokens, seen, body,
                            record_invalid=False)

    def receive_hook(self, hook: str, headers: Mapping[str, str], raw: str, *,
                     method: str = "POST") -> tuple[int, dict[str, Any]]:
        """Handle one request to `/hooks/<hook>`: any credential is accepted and every
        request is recorded as received (a body that is not a CloudEvent is answered 400)."""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            tokens = dict(self._hook_tokens.get(hook, {}))
        seen = _Seen(method, f"/hooks/{hook}", headers, raw)
        return self._accept(hook, f"hook:{hook}", tokens, seen, body, record_invalid=True,
                            no_token_hint=" (paste your API token on the sample partner's "
                                          "page to get statuses back)")

    def set_hook_token(self, hook: str, token: str) -> str:
        """Post statuses back for deliveries to `/hooks/<hook>` with `token` (a partner API
        token, of the environment it names); returns that environment.

        Raises
        ------
        HookTokenError: a hook name or a token the sample partner cannot use.
        """
        if not HOOK_NAME.fullmatch(hook):
            raise HookTokenError("a hook name has 1-64 letters, digits, '.', '_' or '-'")
        environment = hook_token_environment(token)
        with self._lock:
            self._hook_tokens.setdefault(hook, {})[environment] = token.strip()
        return environment

    def hooks(self) -> list[dict[str, Any]]:
        """Hooks that received a request or hold a token: name, environments with a token."""
        with self._lock:
            names = sorted(set(self._hook_tokens) | {
                d.path.removeprefix("/hooks/") for d in self._deliveries
                if d.path.startswith("/hooks/")})
            return [{"name": name, "path": f"/hooks/{name}",
                     "token_environments": sorted(self._hook_tokens.get(name, {}))}
                    for name in names]

    def _accept(self, account: str, dedupe: str, tokens: Mapping[str, str], seen: _Seen,
                body: Any, *, record_invalid: bool, no_token_hint: str = ""
                ) -> tuple[int, dict[str, Any]]:
        problem = check_cloudevent(body)
        if problem:
            with self._lock:
                self.counts["invalid"] += 1
                if record_invalid:
                    self._deliveries.append(seen.delivery(
                        "", account, type="", data={}, answer=400,
                        note=f"refused (400): {problem}"))
            return 400, {"title": "Bad Request", "status": 400, "detail": problem}
        data = body["data"]
        delivery = seen.delivery(body["id"], account, type=body["type"],
                                 data=data if isinstance(data, Mapping) else {"value": data})
        token = tokens.get(delivery.environment or "")
        with self._wakeup:
            if (dedupe, delivery.id) in self._seen:
                self.counts["duplicates"] += 1
                for earlier in reversed(self._deliveries):
                    if earlier.id == delivery.id and earlier.account == account:
                        earlier.times_received += 1
                        break
                return 200, {"received": delivery.id, "duplicate": True}
            self._seen.add((dedupe, delivery.id))
            self._deliveries.append(delivery)
            self.counts["received"] += 1
            if not token or not delivery.request_id or not self.statuses:
                delivery.note = ("no API token for this environment: statuses not posted"
                                 + no_token_hint if not token
                                 else "no request id: statuses not posted")
            else:
                heapq.heappush(self._jobs, _Job(self._clock() + self.status_delay,
                                                next(self._job_ids), delivery, token))
                self._wakeup.notify()
        return 200, {"received": delivery.id}

    # --- status poster ---------------------------------------------------------------------

    def start(self) -> SamplePartner:
        for thread in self._threads:
            thread.start()
        return self

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no status is scheduled or being posted; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._wakeup:
            while self._jobs or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wakeup.wait(timeout=min(remaining, 0.05))
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop posting statuses; waits at most `timeout` seconds in all for posts in flight
        (the posters are daemon threads: one still posting ends after its post)."""
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        while True:
            with self._wakeup:
                while not self._stopping:
                    if self._jobs and self._jobs[0].due <= self._clock():
                        break
                    timeout = (self._jobs[0].due - self._clock()) if self._jobs else None
                    self._wakeup.wait(timeout=min(timeout, 1.0) if timeout else 1.0)
                if self._stopping:
                    return
                job = heapq.heappop(self._jobs)
                self._in_flight += 1
            try:
                self._post_status(job)
            finally:
                with self._wakeup:
                    self._in_flight -= 1
                    self._wakeup.notify_all()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _post_status(self, job: _Job) -> None:
        status = self.statuses[job.step]
        delivery = job.delivery
        url = f"{self.partner_api_url}/v1/requests/{delivery.request_id}/status"
        body = {"status": status, "note": f"sample partner: {status.replace('_', ' ')}",
                "reference": f"sample-{delivery.id[:40]}"}
        try:
            response = self._session().post(
                url, json=body, timeout=10,
                headers={"Authorization": f"Bearer {job.token}",
                         "Idempotency-Key": f"sample-{delivery.id}-{status}"})
            code, detail = response.status_code, _problem_detail(response)
        except requests.RequestException as error:
            code, detail = 0, type(error).__name__
        outcome = {"status": status, "http_status": code, "attempt": job.attempt,
                   "at": _now_iso()}
        with self._wakeup:
            if 200 <= code < 300:
                delivery.statuses.append(outcome)
                self.counts["statuses_posted"] += 1
                if job.step + 1 < len(self.statuses):
                    heapq.heappush(self._jobs, _Job(self._clock() + self.status_delay,
                                                    next(self._job_ids), delivery, job.token,
                                                    job.step + 1))
                    self._wakeup.notify()
            elif (code == 0 or code in RETRYABLE_STATUS) and job.attempt < self.max_status_attempts:
                backoff = min(self.status_retry_base * 2 ** (job.attempt - 1), 5.0)
                heapq.heappush(self._jobs, _Job(self._clock() + backoff, next(self._job_ids),
                                                delivery, job.token, job.step, job.attempt + 1))
                self._wakeup.notify()
            else:
                delivery.statuses.append({**outcome, "error": detail})
                self.counts["statuses_failed"] += 1
                logger.warning("status %s of request %s failed: %s %s", status,
                               delivery.request_id, code, detail)


def _problem_detail(response: requests.Response) -> str:
    if response.status_code < 300:
        return ""
    try:
        payload = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(payload, Mapping):
        return str(payload.get("detail") or payload.get("title") or payload.get("message"))[:200]
    return str(payload)[:200]
