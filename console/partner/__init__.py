"""The partner screens: organisation, environments, filter, tokens, tests, failures, usage.

Every route under `/partners/<partner_id>` loads the organisation through
`own_partner_or_404`: another organisation's id answers 404, exactly like a missing one.

The views live in small modules, one per screen (organisation, environments, filter_editor,
api_tokens, probes, dead_letters, usage_report; pages holds what they share); this table is
the blueprint's whole URL space in one place. Each endpoint is named after its view function
(`partner.settings`), as the templates' `url_for` calls expect. The table lives here, not in
decorators, so the view modules never import this package back.
"""

from __future__ import annotations

from typing import Callable

from flask import Blueprint, request
from flask_login import current_user

from console.helpers import own_partner_or_404, partner_required
from console.membership import template_context
from console.partner.api_tokens import create_token, revoke_token, rotate_token, tokens
from console.partner.dead_letters import failures, redrive
from console.partner.deliveries import deliveries, delivery, reenable, resend
from console.partner.environments import clear_credential, environment, routing_fragment, settings
from console.partner.filter_editor import request_filter
from console.partner.members import (
    cancel_invite,
    invite,
    leave,
    members,
    remove,
    resend_invite,
    set_role,
    transfer,
)
from console.partner.organisation import create, home, overview, profile, submit
from console.partner.probes import send_test_event, test_event, test_event_status
from console.partner.usage_report import usage
from partners.onboarding import Permission, require

bp = Blueprint("partner", __name__, url_prefix="/partners")

ENVIRONMENT = "/<partner_id>/environments/<environment>"
GET, POST, FORM = ["GET"], ["POST"], ["GET", "POST"]

ROUTES: list[tuple[str, Callable, list[str]]] = [
    ("/", home, GET),
    ("/new", create, FORM),
    ("/<partner_id>", overview, GET),
    ("/<partner_id>/profile", profile, FORM),
    ("/<partner_id>/submit", submit, POST),
    (ENVIRONMENT, environment, GET),
    (f"{ENVIRONMENT}/routing", routing_fragment, GET),
    (f"{ENVIRONMENT}/settings", settings, FORM),
    (f"{ENVIRONMENT}/credential/clear", clear_credential, POST),
    (f"{ENVIRONMENT}/filter", request_filter, FORM),
    (f"{ENVIRONMENT}/tokens", tokens, GET),
    (f"{ENVIRONMENT}/tokens", create_token, POST),
    (f"{ENVIRONMENT}/tokens/<prefix>/rotate", rotate_token, POST),
    (f"{ENVIRONMENT}/tokens/<prefix>/revoke", revoke_token, POST),
    (f"{ENVIRONMENT}/test-events", send_test_event, POST),
    (f"{ENVIRONMENT}/test-events/<request_id>", test_event, GET),
    (f"{ENVIRONMENT}/test-events/<request_id>/status", test_event_status, GET),
    (f"{ENVIRONMENT}/failures", failures, GET),
    (f"{ENVIRONMENT}/failures/redrive", redrive, POST),
    (f"{ENVIRONMENT}/deliveries", deliveries, GET),
    (f"{ENVIRONMENT}/deliveries/resend", resend, POST),
    (f"{ENVIRONMENT}/deliveries/<delivery_id>", delivery, GET),
    (f"{ENVIRONMENT}/endpoint/reenable", reenable, POST),
    (f"{ENVIRONMENT}/usage", usage, GET),
    ("/<partner_id>/members", members, GET),
    ("/<partner_id>/members/invitations", invite, POST),
    ("/<partner_id>/members/invitations/<invitation_id>/resend", resend_invite, POST),
    ("/<partner_id>/members/invitations/<invitation_id>/cancel", cancel_invite, POST),
    ("/<partner_id>/members/leave", leave, POST),
    ("/<partner_id>/members/<user_id>/role", set_role, POST),
    ("/<partner_id>/members/<user_id>/remove", remove, POST),
    ("/<partner_id>/members/<user_id>/transfer", transfer, POST),
]

for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)

# The role permission each change (POST) needs, checked before its form is read, so a
# member whose role may not make it gets the same 403 with the reason whatever they sent;
# the use case checks it again (None: any member, for themselves).
P = Permission
ROLE_NEEDED: dict[str, Permission | None] = {
    "profile": P.PROFILE, "submit": P.SUBMIT, "settings": P.ENDPOINTS,
    "clear_credential": P.CREDENTIALS, "request_filter": P.FILTERS,
    "create_token": P.TOKENS, "rotate_token": P.TOKENS, "revoke_token": P.TOKENS,
    "send_test_event": P.TEST_EVENTS, "redrive": P.DELIVERIES, "resend": P.DELIVERIES,
    "reenable": P.ENDPOINTS, "invite": P.MEMBERS, "resend_invite": P.MEMBERS,
    "cancel_invite": P.MEMBERS, "set_role": P.MEMBERS, "remove": P.MEMBERS,
    "transfer": P.OWNERSHIP, "leave": None,
}


# Every template sees the user's role in the organisation in hand and their organisations
# (the switcher in the nav).
bp.app_context_processor(template_context)


@bp.before_request
@partner_required
def _partners_only() -> None:
    """Every partner screen needs a logged-in member of the `partners` group."""
    arguments = request.view_args or {}
    if request.method == "POST" and request.endpoint and "partner_id" in arguments:
        # Not in the table (a new route someone forgot): owners only, until it is listed.
        permission = ROLE_NEEDED.get(request.endpoint.split(".", 1)[-1], P.MEMBERS)
        partner = own_partner_or_404(arguments["partner_id"])
        if permission is not None:
            require(current_user.actor, partner.id, permission)
