"""The Deliveries page in a real browser (Debian's Chromium through Playwright).

The console runs in this process over the `test` stage in moto, served on a free port; the
delivery log holds a failure window: event bus log records, in AWS's schema, of requests
whose attempts the endpoint answered with HTTP 500 until they were dead-lettered, then
requests delivered again, folded by the indexer's own code. The partner signs in, opens the
environment's Deliveries page and sees the window in the charts, each failed attempt with its
status, and resends one. Screenshots go to the git-ignored `test-artifacts/screenshots/`.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from infra.local.servers import free_port
from partners.deliveries import parse_record
from tests.console.conftest import (  # noqa: F401 (fixtures)
    PASSWORD,
    app,
    auth,
    create_organisation,
    flushes,
    reconciles,
)
from tests.partners.deliveries.builders import T0, Send, ms

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture
def console_url(app):  # noqa: F811
    """The console, served over HTTP on a free port for the test's duration."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _failure_window(app, partner_id: str) -> None:  # noqa: F811
    """Hours 03-06 UTC: every request fails with 500 and dead-letters; before and after, the
    endpoint answers 200 (some slowly)."""
    records = []
    for hour in range(1, 10):
        for n in range(3):
            start = T0.replace(hour=hour, minute=5 + 15 * n)
            send = Send(partner_id=partner_id, environment="test",
                        event_id=f"ev-{hour}-{n}", invocation_id=f"inv-{hour}-{n}",
                        request_id=f"req-{hour:02d}{n}", start_ms=ms(start))
            if 3 <= hour <= 6:
                records += send.failing_then_dead_lettered(3)
            else:
                records += [send.start(), send.attempt_start(1, 10),
                            send.attempt("SUCCESS", 1, 200, status=200,
                                         duration_ms=80 + 150 * n),
                            send.final("INVOCATION_SUCCESS", 210, 1)]
    app.extensions["pgw"].delivery_store.index(parse_record(r) for r in records)


def test_the_deliveries_page_shows_a_failure_window(app, auth, console_url, browser,  # noqa: F811
                                                    clock):
    from playwright.sync_api import expect

    email = "deliveries.browser@example.com"
    auth.create_user(email)
    setup = app.test_client()
    auth.login(setup, email)
    partner_id = create_organisation(setup, "window-freight", "Window Freight")
    _failure_window(app, partner_id)
    clock.now = T0 + timedelta(minutes=30)

    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20_000)
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(f"{console_url}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Window Freight")

    page.goto(f"{console_url}/partners/{partner_id}/environments/test")
    page.locator("#deliveries-link").click()
    expect(page.locator("h1")).to_contain_text("Deliveries")
    # The charts draw the window: 0% from 03:00 to 06:00, 100% around it.
    success = page.locator("#health-24h-success")
    expect(success).to_be_visible()
    tips = success.locator("circle title").all_text_contents()
    assert "03:00: success rate 0%" in tips and "06:00: success rate 0%" in tips
    assert "02:00: success rate 100%" in tips and "07:00: success rate 100%" in tips
    assert page.locator("#health-24h-latency circle").count() == 2 * 9
    # Each failed delivery: three attempts answered 500, then the dead-letter queue.
    rows = page.locator("tbody.delivery")
    assert rows.count() == 25
    page.goto(f"{console_url}/partners/{partner_id}/environments/test/deliveries"
              "?outcome=dead_lettered")
    assert page.locator("tbody.delivery").count() == 12
    first = page.locator("tbody.delivery").first
    first.locator("summary").click()
    expect(first.locator("table.attempts tbody tr")).to_have_count(3)
    expect(first.locator("table.attempts")).to_contain_text("500")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{console_url}/partners/{partner_id}/environments/test/deliveries")
    page.locator("tbody.delivery").nth(9).locator("summary").click()
    page.screenshot(path=str(SCREENSHOTS / "deliveries-failure-window.png"), full_page=True)
    page.locator("#health-24h").screenshot(path=str(SCREENSHOTS / "deliveries-health-24h.png"))

    # Resend one: the flash says how many were queued.
    page.locator("tbody.delivery").nth(9).get_by_role("button", name="Resend").click()
    expect(page.locator(".flash-success")).to_contain_text("Queued 1 delivery to resend")
    assert [m for m in messages if "Content Security Policy" in m or "Uncaught" in m] == []
    assert re.search(r"/deliveries", page.url)
