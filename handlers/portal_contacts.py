"""Portal routes for end users' contact details: `PUT` and `GET /v1/portal/users/{id}/contact`.

A Powertools `Router`, included by the portal API (`handlers/portal_api.py`), which owns the
resolver, the portal's authorisation (`require_portal`: only the user portal may call) and
the problem+json mapping of the shared errors (`handlers.problems.register_problem_handlers`:
invalid fields are 422 with a JSON pointer). This module maps its own two errors: an unknown
user is 404, a concurrent write 409.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from handlers.problems import problem, read_json_body
from partners.core.constants import Env
from partners.notifications import (
    Contact,
    ContactConflictError,
    ContactNotFoundError,
    ContactStore,
)

router = APIGatewayRouter()

# Contact details are a few hundred bytes; anything much larger is not a contact.
MAX_BODY_BYTES = 4096
CONTACT_PATH = "/v1/portal/users/<user_id>/contact"

_store: ContactStore | None = None


def contacts() -> ContactStore:
    """The stage's contact store, from the environment, made once per process.

    Raises
    ------
    KeyError: `PGW_CONTACTS_TABLE` or `PGW_NOTIFICATIONS_TOPIC_ARN` is not set.
    """
    global _store
    if _store is None:
        _store = ContactStore(os.environ[Env.CONTACTS_TABLE],
                              os.environ[Env.NOTIFICATIONS_TOPIC_ARN])
    return _store


def reset() -> None:
    """Forget the process's store (after the environment changed)."""
    global _store
    _store = None


def _require_portal() -> None:
    # Imported when a request is served: `handlers.portal_api` includes this router while it
    # is being imported, so a module-level import would be circular. One check, one place.
    from handlers.portal_api import require_portal

    require_portal()


def _view(store: ContactStore, contact: Contact) -> dict[str, Any]:
    confirmed = store.email_confirmed(contact)
    return {**contact.to_public(),
            "email_subscription": (None if confirmed is None
                                   else "confirmed" if confirmed else "pending_confirmation")}


@router.put(CONTACT_PATH)
def put_contact(user_id: str) -> Response:
    """Register or replace a user's contact details; 201 the first time, 200 after."""
    _require_portal()
    body = read_json_body(router.current_event.raw_event, max_bytes=MAX_BODY_BYTES)
    store = contacts()
    contact = store.put(user_id, body)
    return Response(status_code=201 if contact.version == 1 else 200,
                    content_type="application/json", body=_view(store, contact))


@router.get(CONTACT_PATH)
def get_contact(user_id: str) -> dict[str, Any]:
    """A user's contact details and whether the email subscription is confirmed."""
    _require_portal()
    store = contacts()
    return _view(store, store.get(user_id))


@router.exception_handler(ContactNotFoundError)
def handle_contact_not_found(error: ContactNotFoundError) -> Response:
    return problem("not-found", f"no contact details for user {error.user_id}")


@router.exception_handler(ContactConflictError)
def handle_contact_conflict(error: ContactConflictError) -> Response:
    return problem("conflict", str(error), headers={"Retry-After": "1"})
