"""Security headers, safe redirects and the error pages: no inline script, no framing."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError

from partners.onboarding import InvitationNotFoundError, MemberNotFoundError, RoleRefusedError

logger = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])


def safe_next(target: str | None, default: str) -> str:
    """`target` when it is a path on this site, else `default` (no open redirects)."""
    if not target or not isinstance(target, str):
        return default
    target = target.strip()
    if "\\" in target or any(ord(c) < 0x20 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def client_address() -> str:
    """The caller's IP address, as API Gateway saw it when it serves the console.

    Behind API Gateway, apig-wsgi takes REMOTE_ADDR from the first `X-Forwarded-For` value,
    which the client chooses; the request context's `sourceIp` is what API Gateway saw, so
    login throttling per address cannot be dodged with a made-up header.
    """
    context = request.environ.get("apig_wsgi.request_context") or {}
    source = (context.get("identity") or {}).get("sourceIp") or \
        (context.get("http") or {}).get("sourceIp")
    return str(source or request.remote_addr or "unknown")


def add_security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    if response.mimetype == "text/html":
        # Pages show per-user settings; never let a shared cache keep them.
        response.headers["Cache-Control"] = "no-store"
    return response


_TITLES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "Your account cannot open this page."),
    404: ("Not found", "There is nothing here, or it is not yours to see."),
    405: ("Method not allowed", "This page does not take that kind of request."),
    413: ("Too large", "The form was too large."),
    503: ("Try again in a moment", "An AWS service the console relies on did not answer. "
          "Nothing was half-saved: try again in a moment."),
    429: ("Too many requests", "Slow down and try again in a moment."),
    500: ("Something went wrong", "The console could not finish this. It has been logged; "
          "try again, and if it persists, tell the gateway team."),
}


def _error_page(status: int, message: str | None = None) -> tuple[str, int]:
    title, default = _TITLES.get(status, ("Error", "Something went wrong."))
    return render_template("error.html", title=title, message=message or default,
                           status=status), status


def register_error_pages(app: Flask) -> None:
    app.after_request(add_security_headers)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _error_page(400, "The form expired or did not come from this site. Go back, "
                                "reload the page and submit again.")

    for status in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(status, lambda error, status=status: _error_page(status))

    @app.errorhandler(RoleRefusedError)
    def role_refused(error: RoleRefusedError):
        # The use case refused before writing anything: say why, as the role table does.
        return _error_page(403, f"{error.reason} Nothing was changed.")

    @app.errorhandler(MemberNotFoundError)
    @app.errorhandler(InvitationNotFoundError)
    def team_not_found(error: Exception):
        return _error_page(404)

    @app.errorhandler(ClientError)
    @app.errorhandler(BotoCoreError)
    def aws_error(error: Exception):
        # Throttling, an outage, a missing permission: logged with its code, shown as a 503.
        logger.error("AWS call failed: %s", error)
        return _error_page(503)

    @app.errorhandler(500)
    def server_error(error):
        return _error_page(500)
