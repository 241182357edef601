"""Portal routes for end users' contact details: `PUT` and `GET /v1/portal/users/{id}/contact`.

A Powertools `Router` made by `contact_router` and included by the portal API
(`handlers/portal_api.py`), which owns the resolver, the problem+json mapping of the shared
errors (`handlers.problems.register_problem_handlers`: invalid fields are 422 with a JSON
pointer) and the contact store (its `dependencies`, built once per execution environment).
Only the user portal may call (`handlers.api.require_portal`). This module maps its own two
errors: an unknown user is 404, a concurrent write 409.
"""

from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from handlers.api import require_portal
from handlers.problems import problem, read_json_body
from partners.notifications import (
    Contact,
    ContactConflictError,
    ContactNotFoundError,
    ContactStore,
)

# Contact details are a few hundred bytes; anything much larger is not a contact.
MAX_BODY_BYTES = 4096
CONTACT_PATH = "/v1/portal/users/<user_id>/contact"


def _view(store: ContactStore, contact: Contact) -> dict[str, Any]:
    confirmed = store.email_confirmed(contact)
    return {**contact.to_public(),
            "email_subscription": (None if confirmed is None
                                   else "confirmed" if confirmed else "pending_confirmation")}


def contact_router(contacts: Callable[[], ContactStore]) -> APIGatewayRouter:
    """The contact routes, for one resolver.

    A router per resolver, not one per process: each execution environment's portal API
    (a module copy in the embedded stack) includes its own, on its own contact store.

    Parameters
    ----------
    contacts: the contact store of the including handler (called per request, so the
        store is built on first use and a test's override is seen).

    Returns
    -------
    A router with `PUT` and `GET` on `CONTACT_PATH` and the handlers of its two errors.
    """
    router = APIGatewayRouter()

    @router.put(CONTACT_PATH)
    def put_contact(user_id: str) -> Response:
        """Register or replace a user's contact details; 201 the first time, 200 after."""
        require_portal(router.current_event.raw_event)
        body = read_json_body(router.current_event.raw_event, max_bytes=MAX_BODY_BYTES)
        store = contacts()
        contact = store.put(user_id, body)
        return Response(status_code=201 if contact.version == 1 else 200,
                        content_type="application/json", body=_view(store, contact))

    @router.get(CONTACT_PATH)
    def get_contact(user_id: str) -> dict[str, Any]:
        """A user's contact details and whether the email subscription is confirmed."""
        require_portal(router.current_event.raw_event)
        store = contacts()
        return _view(store, store.get(user_id))

    @router.exception_handler(ContactNotFoundError)
    def handle_contact_not_found(error: ContactNotFoundError) -> Response:
        return problem("not-found", f"no contact details for user {error.user_id}")

    @router.exception_handler(ContactConflictError)
    def handle_contact_conflict(error: ContactConflictError) -> Response:
        return problem("conflict", str(error), headers={"Retry-After": "1"})

    return router
