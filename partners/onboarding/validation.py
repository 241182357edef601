"""Validation with precise messages: endpoint URLs (SSRF), environments, identities.

Everything here is pure except the default resolver of `validate_endpoint_url`, which asks the
system's DNS; pass `resolver=` to decide what a hostname resolves to.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

from partners.core.exceptions import ValidationError
from partners.onboarding.exceptions import InvalidEndpointError
from partners.onboarding.models import AuthType, DeliveryMode, Partner, PartnerEnvironment

Resolver = Callable[[str], list[str]]

MAX_URL_LENGTH = 2048  # API destination InvocationEndpoint limit
RATE_LIMIT_RANGE = (1, 300)
EVENT_AGE_RANGE = (60, 86_400)
RETRY_ATTEMPTS_RANGE = (0, 185)

ENVIRONMENT_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,15}$")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
HEADER_NAME_PATTERN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
DNS_LABEL_PATTERN = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# A label that inet_aton would read as a number: decimal, octal (0...) or hex (0x...).
NUMERIC_LABEL_PATTERN = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")

# Addresses no partner endpoint may resolve to, besides what `ipaddress` already knows as
# private, loopback, link-local, multicast, reserved or unspecified.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure instance metadata
    ipaddress.ip_address("fd00:ec2::254"),  # AWS instance metadata over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud metadata
    ipaddress.ip_address("169.254.170.2"),  # ECS task metadata
}
_LOCAL_HOSTNAMES = {"localhost", "localhost.localdomain"}


def system_resolver(hostname: str) -> list[str]:
    """Every address the system resolver gives for `hostname` (A and AAAA)."""
    infos = socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def _refuse(url: str, reason: str) -> InvalidEndpointError:
    return InvalidEndpointError(url, reason)


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `host` spells, in any spelling inet_aton or an IPv6 parser accepts."""
    if host.startswith("[") and host.endswith("]"):
        try:
            return ipaddress.IPv6Address(host[1:-1].split("%")[0])
        except ValueError:
            return None
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if labels and all(NUMERIC_LABEL_PATTERN.match(label) for label in labels):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return ipaddress.IPv4Address(0)  # numeric but unparseable: still not a hostname
    return None


def address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why a partner endpoint may not resolve to `address`, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if address.teredo:
            embedded = address.teredo[1]
        if embedded is not None:
            problem = address_problem(embedded)
            return f"{problem} (embedded in {address})" if problem else None
    checks = [
        (address in _METADATA, "a cloud metadata address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified, "the unspecified address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT,
         "a carrier-grade NAT (shared) address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    ]
    for failed, description in checks:
        if failed:
            return f"{address} is {description}"
    return None


def _normalise_hostname(url: str, hostname: str) -> str:
    try:
        ascii_host = hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _refuse(url, f"hostname {hostname!r} is not a valid DNS name") from None
    ascii_host = ascii_host.rstrip(".")
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(DNS_LABEL_PATTERN.match(label) for label in labels):
        raise _refuse(url, f"hostname {hostname!r} is not a valid DNS name")
    return ascii_host


def validate_endpoint_url(
    url: str, *, allow_insecure: bool = False, resolver: Resolver | None = None
) -> str:
    """Return the normalised form of a partner endpoint URL, or refuse it.

    Parameters
    ----------
    url: the URL the partner typed.
    allow_insecure: accept `http` and loopback hosts (the embedded stack's sample partner);
        private, link-local, metadata and other internal addresses stay refused.
    resolver: `hostname -> list of IP addresses`; the system resolver by default.

    Returns
    -------
    The URL with a lower-case scheme and host, no default port, and a path of at least `/`.

    Raises
    ------
    InvalidEndpointError: with `reason`, for a bad scheme, userinfo, fragment, IP literal,
        port, hostname, or a hostname resolving to any non-public address.
    """
    resolver = resolver or system_resolver
    if not isinstance(url, str) or not url.strip():
        raise _refuse(str(url), "an endpoint URL is required")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(url, f"longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise _refuse(url, "contains white space or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise _refuse(url, f"not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise _refuse(url, f"scheme must be https, not {scheme or 'missing'!r}")
    if scheme == "http" and not allow_insecure:
        raise _refuse(url, "scheme must be https")
    if "@" in parts.netloc:
        raise _refuse(url, "credentials in the URL are not allowed; use the endpoint auth")
    if parts.fragment or url.endswith("#"):
        raise _refuse(url, "fragments are not allowed")
    raw_host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    if not raw_host:
        raise _refuse(url, "the URL has no hostname")
    if port is not None and port != 443 and port < 1024:
        raise _refuse(url, f"port {port} is not allowed (use 443 or a port from 1024)")

    literal = _ip_literal(raw_host.lower())
    if literal is not None:
        canonical = raw_host.lower() in (str(literal), f"[{literal}]")
        if not (allow_insecure and literal.is_loopback and canonical):
            raise _refuse(url, f"IP address literals are not allowed ({raw_host}); use a DNS name")
        host = raw_host.lower()
    else:
        host = _normalise_hostname(url, parts.hostname or "")
        if allow_insecure and host in _LOCAL_HOSTNAMES:
            pass
        else:
            if "." not in host:
                raise _refuse(url, f"hostname {host!r} is not a fully qualified DNS name")
            if NUMERIC_LABEL_PATTERN.match(host.rsplit(".", 1)[1]):
                raise _refuse(url, f"hostname {host!r} has a numeric top-level label")
            _check_resolution(url, host, resolver, allow_loopback=allow_insecure)

    netloc = host if port in (None, 443 if scheme == "https" else 80) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _check_resolution(url: str, host: str, resolver: Resolver, *, allow_loopback: bool) -> None:
    try:
        addresses = resolver(host)
    except (OSError, UnicodeError):
        raise _refuse(url, f"hostname {host!r} does not resolve") from None
    if not addresses:
        raise _refuse(url, f"hostname {host!r} does not resolve")
    for raw in addresses:
        try:
            address = ipaddress.ip_address(raw.split("%")[0])
        except ValueError:
            raise _refuse(url, f"hostname {host!r} resolved to {raw!r}, not an address") from None
        if allow_loopback and address.is_loopback:
            continue
        problem = address_problem(address)
        if problem:
            raise _refuse(url, f"hostname {host!r} resolves to {problem}")


# --- environments and identities ---------------------------------------------------------


def _check_range(value: Any, bounds: tuple[int, int], field: str, what: str) -> None:
    low, high = bounds
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationError(f"{what} must be a whole number from {low} to {high}", field=field)


def validate_environment(
    environment: PartnerEnvironment,
    *,
    allowed_names: Iterable[str],
    allow_insecure: bool = False,
    resolver: Resolver | None = None,
) -> PartnerEnvironment:
    """Check a partner environment's settings; return it with its endpoint URL normalised.

    Raises
    ------
    ValidationError (or InvalidEndpointError): naming the field.
    """
    from dataclasses import replace

    allowed = tuple(allowed_names)
    if environment.name not in allowed:
        raise ValidationError(f"environment must be one of {', '.join(allowed)}", field="name")
    _check_range(environment.rate_limit_per_second, RATE_LIMIT_RANGE, "rate_limit_per_second",
                 "rate limit (requests per second)")
    _check_range(environment.retry_policy.maximum_event_age_seconds, EVENT_AGE_RANGE,
                 "maximum_event_age_seconds", "maximum event age (seconds)")
    _check_range(environment.retry_policy.maximum_retry_attempts, RETRY_ATTEMPTS_RANGE,
                 "maximum_retry_attempts", "retry attempts")
    if environment.mode is DeliveryMode.POLL:
        return environment
    if not environment.endpoint_url:
        raise ValidationError("push delivery needs an endpoint URL", field="endpoint_url")
    url = validate_endpoint_url(environment.endpoint_url, allow_insecure=allow_insecure,
                                resolver=resolver)
    auth = environment.auth
    if auth is None:
        raise ValidationError("push delivery needs endpoint auth", field="auth_type")
    if auth.type is AuthType.API_KEY and not (auth.header_name and
                                              HEADER_NAME_PATTERN.match(auth.header_name)):
        raise ValidationError("API key auth needs a valid header name", field="header_name")
    if auth.type is AuthType.BASIC and not (auth.username and ":" not in auth.username):
        raise ValidationError("basic auth needs a username without ':'", field="username")
    if auth.type is AuthType.OAUTH_CLIENT_CREDENTIALS:
        if not auth.client_id:
            raise ValidationError("OAuth needs a client id", field="client_id")
        try:
            validate_endpoint_url(auth.token_url or "", allow_insecure=allow_insecure,
                                  resolver=resolver)
        except InvalidEndpointError as error:
            raise ValidationError(f"token URL refused: {error.reason}", field="token_url") from None
    return replace(environment, endpoint_url=url)


def environment_problems(partner: Partner, *, allowed_names: Iterable[str],
                         allow_insecure: bool = False,
                         resolver: Resolver | None = None) -> list[str]:
    """Why each of the partner's environments cannot be routed as saved (empty: none).

    Checked when a partner submits and again when an admin approves: DNS may have changed
    since the save.

    Parameters
    ----------
    partner: the partner whose stored environments are checked.
    allowed_names, allow_insecure, resolver: as for `validate_environment`.

    Returns
    -------
    One `<environment>: <reason>` sentence per environment that fails its check.
    """
    allowed = tuple(allowed_names)
    problems = []
    for environment in partner.environments.values():
        try:
            validate_environment(environment, allowed_names=allowed,
                                 allow_insecure=allow_insecure, resolver=resolver)
        except ValidationError as error:
            problems.append(f"{environment.name}: {error.message}")
    return problems


def validate_slug(slug: str) -> str:
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
        raise ValidationError(
            "slug must be 3-40 lower-case letters, digits or '-', not starting or ending with '-'",
            field="slug",
        )
    return slug


def validate_email(email: str) -> str:
    if not isinstance(email, str) or not EMAIL_PATTERN.match(email.strip()):
        raise ValidationError("not a valid email address", field="contact_email")
    return email.strip().lower()


def validate_display_name(name: str) -> str:
    if not isinstance(name, str) or not 2 <= len(name.strip()) <= 80:
        raise ValidationError("display name must be 2-80 characters", field="display_name")
    return name.strip()


def validate_environment_name(name: str) -> str:
    if not isinstance(name, str) or not ENVIRONMENT_NAME_PATTERN.match(name):
        raise ValidationError("environment names are 2-16 lower-case letters or digits",
                              field="name")
    return name
