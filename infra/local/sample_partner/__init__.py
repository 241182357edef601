"""A sample partner: receives deliveries and answers with statuses through the partner API.

It behaves like a partner's system would: EventBridge POSTs each request to it as a
CloudEvents 1.0 JSON document, authenticated with the connection's API key header; it checks
the key, acknowledges, and after a short delay posts the statuses `received`, `in_progress`,
`accepted`, `fulfilled` to `POST /v1/requests/{id}/status` with its API token and an
`Idempotency-Key`. It shows what it received at `/` (HTML) and `/received` (JSON), and can
be switched to answer 500, 429 or to hang for a while (`POST /mode`), which shows
EventBridge's retries, the dead-letter queue and the redrive.

Several accounts can share it (the demo's push partner, a partner a browser test signs up):
each has its own API key and its own API token per environment. Any other partner points an
environment at `/hooks/<a name of its choice>`: any credential is accepted there (an API key
header of any name, Basic, OAuth client credentials with `/hooks/<name>/oauth/token` as the
authorization endpoint), every request is shown as received (method, headers with
credentials masked, raw body), and statuses are posted back once the partner pastes that
environment's API token on the page (`POST /hooks/<name>/token`); until then deliveries are
answered 200 and no status is posted.
"""

from infra.local.sample_partner.deliveries import (
    DEFAULT_API_KEY_HEADER,
    DELIVERY_PATH,
    HOOK_PATH,
    MAX_FOR_SECONDS,
    MODES,
    RETRYABLE_STATUS,
    STATUS_SEQUENCE,
    Account,
    Delivery,
    HookTokenError,
    ModeError,
)
from infra.local.sample_partner.partner import SamplePartner

__all__ = [
    "DEFAULT_API_KEY_HEADER",
    "DELIVERY_PATH",
    "HOOK_PATH",
    "MAX_FOR_SECONDS",
    "MODES",
    "RETRYABLE_STATUS",
    "STATUS_SEQUENCE",
    "Account",
    "Delivery",
    "HookTokenError",
    "ModeError",
    "SamplePartner",
]
