"""A WSGI app in front of a `Gateway` (tests only): lets HTTP tools such as schemathesis'
WSGI transport drive the Lambda handlers through the authorizer."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from tests.handlers.gateway import Gateway

_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
            413: "Content Too Large", 415: "Unsupported Media Type",
            422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}


def wsgi_app(gateway: Gateway, calls: list[int] | None = None) -> Callable[..., Iterable[bytes]]:
    """A WSGI callable that turns each request into one `gateway.call`."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = {key[5:].replace("_", "-").title(): value
                   for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            body: Any = raw.decode() if raw else None
        except UnicodeDecodeError:
            body = raw
        response = gateway.call(environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/",
                                headers=headers, query=environ.get("QUERY_STRING") or None,
                                body=body)
        if calls is not None:
            calls.append(response.status)
        payload = response.text.encode()
        out = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        out.append(("Content-Length", str(len(payload))))
        start_response(f"{response.status} {_REASONS.get(response.status, 'Status')}", out)
        return [payload]

    return app
