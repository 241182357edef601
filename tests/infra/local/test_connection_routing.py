"""The reconciler follows a connection's authorisation in the embedded stack: an OAuth push
partner is `pending` until EventBridge (the local runtime) has a token from the partner's
token endpoint (the sample partner's), `live` on the next run; a refused one ends `error:`
with the token endpoint's answer.

AWS page: EventBridge user guide "Connections for HTTP endpoint targets"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection.html: "ensure
that the connection reaches the AUTHORIZED state before creating the API destination"), and
"Connection states" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-states.html).
"""

from __future__ import annotations

from partners.onboarding.filters import RequestFilter
from partners.onboarding.models import (
    AuthType,
    DeliveryMode,
    EndpointAuth,
    PartnerEnvironment,
    RoutingState,
)
from tests.infra.local.runtime_support import runtime  # noqa: F401
from tests.infra.local.test_connection_states import sample  # noqa: F401
from tests.partners.routing.reconciler_fixtures import world  # noqa: F401

SECRET = "oauth-client-s3cret"


def oauth_env(token_url: str) -> PartnerEnvironment:
    return PartnerEnvironment(
        name="prod", mode=DeliveryMode.PUSH, endpoint_url="https://hooks.acme.example/events",
        auth=EndpointAuth(type=AuthType.OAUTH_CLIENT_CREDENTIALS, client_id="acme-client",
                          token_url=token_url),
        rate_limit_per_second=10, filter=RequestFilter(request_types=("*",)))


def status_of(world, partner):
    return world.registry.routing_statuses(partner.id)["prod"]


def test_an_oauth_partner_is_pending_then_live_across_runs(world, runtime, sample):
    """eb-target-connection: AUTHORIZING -> pending, no destination; AUTHORIZED -> live."""
    # A token endpoint that takes a moment, as EventBridge's authorisation does: the first
    # run's one DescribeConnection still sees AUTHORIZING.
    sample.tokens.configure("acme", refuse=False, delay_seconds=1.5)
    partner = world.partner("acme", oauth_env(f"{sample.url}/hooks/acme/oauth/token"),
                            secret=SECRET)
    world.reconciler().reconcile(partner.id)
    status = status_of(world, partner)
    assert status.state is RoutingState.PENDING
    assert "waiting for the connection to be authorised" in status.reason
    events = world.client("events")
    assert events.list_api_destinations()["ApiDestinations"] == []  # not before AUTHORIZED
    assert runtime.authorizer.wait(10)

    # The scheduled resync (every 5 minutes, `reconcileSchedule`) finishes it: no user action.
    report = world.reconciler().reconcile_all()
    status = status_of(world, partner)
    assert status.state is RoutingState.LIVE, status.reason
    [outcome] = [o for o in report.outcomes if o.name.endswith(f"{partner.id}-prod")]
    assert outcome.actions[0] == "create_destination"
    [token_request] = sample.tokens.requests("acme")
    assert token_request["client_id"] == "acme-client" and token_request["answer"] == 200


def test_a_refused_oauth_partner_ends_in_error_with_the_answer(world, runtime, sample):
    """eb-target-connection-states: DEAUTHORIZED -> error with the StateReason."""
    sample.tokens.configure("acme", refuse=True)
    partner = world.partner("acme", oauth_env(f"{sample.url}/hooks/acme/oauth/token"),
                            secret=SECRET)
    reconciler = world.reconciler()
    reconciler.reconcile(partner.id)
    assert runtime.authorizer.wait(10)
    reconciler.reconcile(partner.id)
    status = status_of(world, partner)
    assert status.state is RoutingState.ERROR
    assert status.label.startswith("error: the endpoint's token service refused")
    assert "401" in status.reason and "invalid_client" in status.reason
    assert SECRET not in status.reason
    assert world.client("events").list_api_destinations()["ApiDestinations"] == []

    # The partner's fix (the endpoint accepts again, new credentials saved) goes through
    # the same states: UpdateConnection re-authorises, then the routing is finished.
    sample.tokens.configure("acme", refuse=False)
    world.credentials.put(partner.id, "prod", AuthType.OAUTH_CLIENT_CREDENTIALS,
                          "a-new-s3cret", set_on="2026-11-23T12:00:00Z")
    reconciler.reconcile(partner.id)
    assert runtime.authorizer.wait(10)
    reconciler.reconcile(partner.id)
    assert status_of(world, partner).state is RoutingState.LIVE
