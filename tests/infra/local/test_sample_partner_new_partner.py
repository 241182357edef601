"""A partner a newcomer signs up (not a demo partner) points its test environment at the sample
partner's `/hooks/<name>` with a credential of its own choosing, and gets 2xx deliveries, the
request shown as received, and (once its API token is pasted in) statuses back.

The stack is `make run`'s, in this process, without the demo data or the console.
"""

from __future__ import annotations

import os
import time

import pytest
import requests

from infra.local.servers import free_port
from infra.local.stack import EmbeddedStack, Ports, StackOptions
from partners.core.clock import isoformat, utc_now
from partners.core.constants import Env
from partners.onboarding import (
    AuthType,
    CredentialStore,
    DeliveryMode,
    EndpointAuth,
    PartnerEnvironment,
    PartnerRegistry,
    PartnerStatus,
    TokenStore,
    parse_filter,
    validate_environment,
)

PASSWORD = "a-password-the-newcomer-chose-42"


@pytest.fixture(scope="module")
def stack():
    stack = EmbeddedStack(
        Ports(aws=free_port(), console=free_port(), api=free_port(), sample_partner=free_port()),
        StackOptions(console=False, demo=False, demo_file=None, status_delay=0.01,
                     authorizer_ttl_seconds=0, retry_time_scale=0.01)).start()
    yield stack
    stack.stop()


def _sign_up(stack: EmbeddedStack, hook: str) -> str:
    """What the console's use cases do for a new partner: a Basic-auth push endpoint at the
    sample partner's hook, submitted and approved; returns its test environment's API token."""
    session = stack.session()
    environ = os.environ
    registry = PartnerRegistry(environ[Env.PARTNERS_TABLE], boto3_session=session)
    credentials = CredentialStore(environ[Env.SECRET_PREFIX], boto3_session=session)
    partner = registry.create_partner(display_name="Newco", contact_email="dev@newco.example",
                                      slug="newco", owner="owner-sub-newco")
    stored = credentials.put(partner.id, "test", AuthType.BASIC, PASSWORD,
                             set_on=isoformat(utc_now()))
    environment = validate_environment(PartnerEnvironment(
        name="test", mode=DeliveryMode.PUSH,
        filter=parse_filter({"request_types": ["repair.booking"], "conditions": []}),
        endpoint_url=f"{stack.sample_partner_url}/hooks/{hook}",
        auth=EndpointAuth(AuthType.BASIC, username="newco", secret_arn=stored.arn,
                          secret_set_on=stored.set_on)),
        allowed_names=("prod", "test", "dev"), allow_insecure=True)
    partner = registry.save_partner(partner.with_environment(environment))
    partner = registry.transition(partner, PartnerStatus.PENDING_APPROVAL)
    partner = registry.transition(partner, PartnerStatus.APPROVED)
    token = TokenStore(environ[Env.TOKENS_TABLE], boto3_session=session).issue(
        partner.id, "test", name="newcomer").token
    stack.reconcile(partner.id)
    return token


def _request(stack: EmbeddedStack) -> str:
    response = requests.post(
        f"{stack.api_url}/v1/portal/requests", timeout=30,
        headers={"Authorization": f"Bearer {stack.portal_token}"},
        json={"environment": "test", "request_type": "repair.booking", "user_id": "u-new",
              "attributes": {"region": "eu-west-1"}})
    assert response.status_code == 202, response.text
    return response.json()["request_id"]


def _received(stack: EmbeddedStack, request_id: str, statuses: int = 0) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stack.runtime.drain(5)
        stack.sample_partner.wait_idle(5)
        found = requests.get(f"{stack.sample_partner_url}/received", timeout=10,
                             params={"request_id": request_id}).json()["deliveries"]
        if found and len(found[0]["statuses"]) >= statuses:
            return found[0]
        time.sleep(0.1)
    pytest.fail(f"request {request_id} did not reach the sample partner")


def test_a_new_partner_gets_2xx_deliveries_then_statuses_once_its_token_is_pasted(stack):
    token = _sign_up(stack, "newco")
    first = _request(stack)
    seen = _received(stack, first)
    assert seen["path"] == "/hooks/newco" and seen["answer"] == 200
    assert seen["credential"] == "Basic auth"
    assert PASSWORD not in repr(seen) and seen["statuses"] == []
    assert first in seen["body"] and '"specversion"' in seen["body"]

    pasted = requests.post(f"{stack.sample_partner_url}/hooks/newco/token",
                           json={"api_token": token}, timeout=10)
    assert pasted.status_code == 200 and pasted.json()["environment"] == "test"
    second = _request(stack)
    seen = _received(stack, second, statuses=4)
    assert [(s["status"], s["http_status"]) for s in seen["statuses"]] == [
        ("received", 202), ("in_progress", 202), ("accepted", 202), ("fulfilled", 202)]
    # The request's view is a projection of its log (a stream handler folds it), so it may
    # trail the 202s by a moment on a busy machine.
    deadline = time.monotonic() + 30
    while True:
        view = requests.get(f"{stack.api_url}/v1/requests/{second}", timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
        if view.json()["status"] == "fulfilled" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert view.json()["status"] == "fulfilled"
    page = requests.get(stack.sample_partner_url, timeout=10).text
    assert token not in page and PASSWORD not in page
