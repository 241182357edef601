"""A team in a real browser (Debian's Chromium through Playwright) on the embedded stack.

The demo's push partner (Acme Logistics) already has an owner and a viewer. Its owner
invites a colleague as a viewer; the colleague opens the link, signs up, confirms, logs in,
comes back to the invitation and joins; as a viewer they read the environment's settings but
cannot change them (a 403 that says why, and nothing saved). The members page is
screenshotted to the git-ignored `test-artifacts/screenshots/` for a reviewer.
"""

from __future__ import annotations

import re

import pytest

from infra.local.ses_messages import SES_PATH
from tests.e2e.test_console_browser import CHROMIUM, CHROMIUM_ARGS, _no_console_errors, _shot

PASSWORD = "Browser-Viewer-2026"

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _page(browser, messages: list[str]):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("console", lambda message: messages.append(message.text))
    return page


def _log_in(page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_invite_accept_and_the_viewer_cannot_change_settings(stack, browser):
    from playwright.sync_api import expect

    acme = stack.partner("acme-logistics")
    [demo_viewer] = acme["members"]
    messages: list[str] = []
    owner = _page(browser, messages)
    owner.goto(f"{stack.console}/auth/login")
    _log_in(owner, acme["login"]["email"], acme["login"]["password"])
    owner.goto(f"{stack.console}/partners/{acme['id']}/members")
    expect(owner.locator("#members")).to_contain_text(demo_viewer["email"])

    # The owner invites a colleague as a viewer; the link is shown once, and mailed (the
    # embedded stack has a sender; its SES keeps what it sent at `/_aws/ses`).
    invitee = "new.viewer@example.com"
    owner.get_by_label("Email", exact=True).fill(invitee)
    owner.get_by_label("Role", exact=True).select_option("viewer")
    owner.get_by_role("button", name="Send invitation").click()
    expect(owner.locator("#invitations")).to_contain_text(invitee)
    link = owner.locator("#invite-link").input_value()
    assert "/auth/invitations/" in link
    expect(owner.locator(".flash-success")).to_contain_text(f"Invitation sent to {invitee}")
    sent = stack.http.get(stack.aws + SES_PATH, timeout=10).json()["messages"]
    [mail] = [m for m in sent if m["Destination"]["ToAddresses"] == [invitee]]
    assert link in mail["Body"]["text_part"]

    # The colleague opens the link, signs up, confirms, logs in and comes back to join.
    colleague = _page(browser, messages)
    colleague.goto(link)
    expect(colleague.locator("h1")).to_have_text("Join Acme Logistics")
    colleague.get_by_role("link", name="Create an account").click()
    expect(colleague.get_by_label("Email")).to_have_value(invitee)
    colleague.get_by_label("Password", exact=True).fill(PASSWORD)
    colleague.get_by_label("Repeat the password").fill(PASSWORD)
    colleague.get_by_role("button", name="Sign up").click()
    expect(colleague).to_have_url(re.compile(r"/auth/confirm"))
    colleague.get_by_label("Confirmation code").fill("123456")  # moto takes any code
    colleague.get_by_role("button", name="Confirm").click()
    expect(colleague).to_have_url(re.compile(r"/auth/login"))
    colleague.get_by_label("Password").fill(PASSWORD)
    colleague.get_by_role("button", name="Log in").click()
    expect(colleague).to_have_url(re.compile(r"/auth/invitations/"))
    colleague.get_by_role("button", name="Join Acme Logistics").click()
    expect(colleague.locator("h1")).to_have_text("Acme Logistics")
    expect(colleague.locator(".flash-success")).to_contain_text("you joined as viewer")

    # As a viewer: the settings are readable, a save is refused with the reason.
    colleague.goto(f"{stack.console}/partners/{acme['id']}/environments/test/settings")
    before = colleague.get_by_label("Rate limit (requests per second)").input_value()
    colleague.get_by_label("Rate limit (requests per second)").fill("7")
    colleague.get_by_role("button", name="Save settings").click()
    expect(colleague.locator("h1")).to_have_text("Not allowed")
    expect(colleague.locator("main")).to_contain_text(
        "a viewer cannot change endpoints and delivery settings")
    _shot(colleague, "members-02-viewer-refused")
    colleague.goto(f"{stack.console}/partners/{acme['id']}/environments/test/settings")
    expect(colleague.get_by_label("Rate limit (requests per second)")).to_have_value(before)

    # The owner's members page lists the new viewer; no invitation is pending any more.
    owner.goto(f"{stack.console}/partners/{acme['id']}/members")
    expect(owner.locator("#members")).to_contain_text(invitee)
    expect(owner.locator("main")).to_contain_text("No pending invitations.")
    _shot(owner, "members-01-members-page")
    # The link worked once.
    colleague.goto(link)
    expect(colleague.locator("#invitation-error")).to_contain_text("used already")
    _no_console_errors(messages)
