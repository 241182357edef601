"""One HTTP request on a connection of its own, as EventBridge calls an API destination.

EventBridge sends `Connection: close`: every call opens a connection and closes it after the
answer, so the pooling, cookie and redirect machinery of `requests` buys nothing here, and on
the embedded stack's delivery path it cost more of the process's time than the partner's
web server (measured: about 600 µs of CPU per call against about 230 µs with `http.client`).
The request sent is the same: method, URL with the query string, the caller's headers
(`Accept` and `Accept-Encoding` as `requests` sent them unless given), `Content-Length`; no
proxy, no redirect followed. `requests` stays for the rare OAuth token requests.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlencode, urlsplit

# What `requests` added to every call before this module sent them.
DEFAULT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate"}
# Bytes of an answer read at most (its status and headers decide; the body is drained so
# the partner's server can finish writing it).
MAX_BODY_BYTES = 1 << 20


class TransportError(Exception):
    """No answer: `timed_out` when the connection or the answer took longer than allowed."""

    def __init__(self, reason: str, *, timed_out: bool):
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


@dataclass(frozen=True)
class Answer:
    """An answer's status and headers (names in lower case)."""

    status: int
    headers: Mapping[str, str]


_tls = ssl.create_default_context()


def target_of(url: str, query: list[tuple[str, str]] | None) -> tuple[str, str, int | None, str]:
    """(scheme, host, port, path with query) of `url` plus the `query` pairs."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"not an http(s) URL: {url!r}", timed_out=False)
    path = parts.path or "/"
    queries = [q for q in (parts.query, urlencode(query or [])) if q]
    if queries:
        path += "?" + "&".join(queries)
    return parts.scheme, parts.hostname, parts.port, path


def send(method: str, url: str, *, headers: Mapping[str, str], body: bytes,
         query: list[tuple[str, str]] | None = None, timeout: float) -> Answer:
    """Send one request on a new connection and return the answer's status and headers.

    `timeout` bounds the connect and each wait for the answer, as `requests` does.

    Raises:
        TransportError: the connection failed, or timed out, or the answer was not HTTP.
    """
    scheme, host, port, path = target_of(url, query)
    connection: http.client.HTTPConnection
    if scheme == "https":
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=_tls)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        sent = {name.lower() for name in headers}
        for name, value in DEFAULT_HEADERS.items():
            if name.lower() not in sent:
                connection.putheader(name, value)
        for name, value in headers.items():
            connection.putheader(name, value)
        if "content-length" not in sent:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        response.read(MAX_BODY_BYTES)
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()})
    except (socket.timeout, TimeoutError) as error:
        raise TransportError(type(error).__name__, timed_out=True) from error
    except (OSError, http.client.HTTPException) as error:
        raise TransportError(type(error).__name__, timed_out=False) from error
    finally:
        connection.close()
