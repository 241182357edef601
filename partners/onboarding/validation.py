"""Validation with precise messages: endpoint URLs (SSRF), environments, identities.

Everything here is pure except the default resolver of `validate_endpoint_url`, which asks the
system's DNS; pass `resolver=` to decide what a hostname resolves to.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

from partners.core.exceptions import ValidationError
from partners.onboarding.exceptions import InvalidEndpointError, InvalidSettingsError
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
# What a local hostname is connected to (RFC 6761: localhost is the loopback address).
_LOCAL_ADDRESS = "127.0.0.1"
# C0 controls (CR, LF, TAB...), DEL and the C1 controls: no header value, user name or
# credential may carry one (a CR LF would end the header and start another).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class ResolvedEndpoint:
    """An endpoint URL as checked. A caller connects to `address` (checked) and speaks to
    `host` there (Host header, TLS server name and certificate): a second DNS answer (DNS
    rebinding) cannot redirect the call."""

    url: str  # normalised
    scheme: str
    host: str  # the DNS name, or the IP literal without brackets
    port: int
    address: str  # a checked address of `host`


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

    Saving a URL needs only this; calling one needs `resolve_endpoint`, whose address the
    call must use.

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
    return resolve_endpoint(url, allow_insecure=allow_insecure, resolver=resolver).url


def resolve_endpoint(
    url: str, *, allow_insecure: bool = False, resolver: Resolver | None = None
) -> ResolvedEndpoint:
    """Check a partner endpoint URL as `validate_endpoint_url` does, resolving its name once.

    Parameters
    ----------
    url, allow_insecure, resolver: as for `validate_endpoint_url`.

    Returns
    -------
    The normalised URL with the address to connect to: one of the name's addresses, all of
    which were checked.

    Raises
    ------
    InvalidEndpointError: as `validate_endpoint_url`.
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
        addresses = [str(literal)]
    else:
        host = _normalise_hostname(url, parts.hostname or "")
        if allow_insecure and host in _LOCAL_HOSTNAMES:
            addresses = [_LOCAL_ADDRESS]
        else:
            if "." not in host:
                raise _refuse(url, f"hostname {host!r} is not a fully qualified DNS name")
            if NUMERIC_LABEL_PATTERN.match(host.rsplit(".", 1)[1]):
                raise _refuse(url, f"hostname {host!r} has a numeric top-level label")
            addresses = _check_resolution(url, host, resolver, allow_loopback=allow_insecure)

    default_port = 443 if scheme == "https" else 80
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    return ResolvedEndpoint(url=urlunsplit((scheme, netloc, parts.path or "/", parts.query, "")),
                            scheme=scheme, host=host.strip("[]"), port=port or default_port,
                            address=addresses[0])


def _check_resolution(url: str, host: str, resolver: Resolver, *,
                      allow_loopback: bool) -> list[str]:
    """Every address `host` resolves to, each checked; refuse the URL if any is not allowed."""
    try:
        addresses = resolver(host)
    except (OSError, UnicodeError):
        raise _refuse(url, f"hostname {host!r} does not resolve") from None
    if not addresses:
        raise _refuse(url, f"hostname {host!r} does not resolve")
    checked = []
    for raw in addresses:
        try:
            address = ipaddress.ip_address(raw.split("%")[0])
        except ValueError:
            raise _refuse(url, f"hostname {host!r} resolved to {raw!r}, not an address") from None
        checked.append(str(address))
        if allow_loopback and address.is_loopback:
            continue
        problem = address_problem(address)
        if problem:
            raise _refuse(url, f"hostname {host!r} resolves to {problem}")
    return checked


# --- environments and identities ---------------------------------------------------------


def _range_error(value: Any, bounds: tuple[int, int], field: str,
                 what: str) -> ValidationError | None:
    low, high = bounds
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        return ValidationError(f"{what} must be a whole number from {low} to {high}", field=field)
    return None


def _text_error(value: str | None, field: str, what: str) -> ValidationError | None:
    if value and CONTROL_CHARACTERS.search(value):
        return ValidationError(f"The {what} cannot contain line breaks or other control "
                               "characters.", field=field)
    return None


def secret_error(secret: str | None) -> ValidationError | None:
    """Why a credential value cannot be stored, or None; the message never quotes it.

    It travels in an HTTP header (API key, Basic) or a form body (OAuth): a line break there
    would end the header and start another one.
    """
    if secret and CONTROL_CHARACTERS.search(secret):
        return ValidationError("The credential cannot contain line breaks, tabs or other "
                               "control characters; paste it again without them.",
                               field="secret")
    return None


def raise_all(errors: list[ValidationError]) -> None:
    """Raise nothing for no error, the error itself for one, `InvalidSettingsError` for more."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InvalidSettingsError(errors)


def _auth_errors(environment: PartnerEnvironment, *, allow_insecure: bool,
                 resolver: Resolver | None) -> list[ValidationError | None]:
    auth = environment.auth
    if auth is None:
        return [ValidationError("Choose how we authenticate to your endpoint.",
                                field="auth_type")]
    if auth.type is AuthType.API_KEY:
        return [None if auth.header_name and HEADER_NAME_PATTERN.match(auth.header_name) else
                ValidationError("Enter the name of the header that carries the API key "
                                "(letters, digits and '-', e.g. x-api-key).",
                                field="header_name")]
    if auth.type is AuthType.BASIC:
        if not auth.username or ":" in auth.username:
            return [ValidationError("Enter the username for basic auth (without ':').",
                                    field="username")]
        return [_text_error(auth.username, "username", "username")]
    errors = [
        None if auth.client_id else ValidationError("Enter the client id OAuth asks for.",
                                                     field="client_id"),
        _text_error(auth.client_id, "client_id", "client id"),
        _text_error(auth.scope, "scope", "scope"),
    ]
    if not auth.token_url:
        errors.append(ValidationError("Enter the token URL: OAuth gets its access token there.",
                                      field="token_url"))
    else:
        try:
            validate_endpoint_url(auth.token_url, allow_insecure=allow_insecure,
                                  resolver=resolver)
        except InvalidEndpointError as error:
            errors.append(ValidationError(f"token URL refused: {error.reason}",
                                          field="token_url"))
    return errors


def environment_errors(
    environment: PartnerEnvironment,
    *,
    allowed_names: Iterable[str],
    allow_insecure: bool = False,
    resolver: Resolver | None = None,
) -> tuple[PartnerEnvironment, list[ValidationError]]:
    """Check every setting of a partner environment and collect what is wrong.

    Parameters
    ----------
    environment: the settings to check.
    allowed_names: the environment names the stage offers.
    allow_insecure, resolver: as for `validate_endpoint_url`.

    Returns
    -------
    The environment with its endpoint URL normalised (as given when refused), and every
    refused setting as a `ValidationError` naming its field (an endpoint's refusal is an
    `InvalidEndpointError`), in the form's order; empty when all are fine.
    """
    allowed = tuple(allowed_names)
    errors: list[ValidationError | None] = [
        None if environment.name in allowed else
        ValidationError(f"environment must be one of {', '.join(allowed)}", field="name"),
        _range_error(environment.rate_limit_per_second, RATE_LIMIT_RANGE,
                     "rate_limit_per_second", "rate limit (requests per second)"),
        _range_error(environment.retry_policy.maximum_event_age_seconds, EVENT_AGE_RANGE,
                     "maximum_event_age_seconds", "maximum event age (seconds)"),
        _range_error(environment.retry_policy.maximum_retry_attempts, RETRY_ATTEMPTS_RANGE,
                     "maximum_retry_attempts", "retry attempts"),
    ]
    if environment.mode is DeliveryMode.POLL:
        return environment, [e for e in errors if e is not None]
    url = environment.endpoint_url
    if not url:
        errors.append(ValidationError("Enter your endpoint URL: push delivery posts each "
                                      "request to it.", field="endpoint_url"))
    else:
        try:
            url = validate_endpoint_url(url, allow_insecure=allow_insecure, resolver=resolver)
        except InvalidEndpointError as error:
            errors.append(error)
    errors.extend(_auth_errors(environment, allow_insecure=allow_insecure, resolver=resolver))
    return replace(environment, endpoint_url=url), [e for e in errors if e is not None]


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
    ValidationError (or InvalidEndpointError) naming the field when one setting is refused,
    InvalidSettingsError listing each when several are.
    """
    checked, errors = environment_errors(environment, allowed_names=allowed_names,
                                         allow_insecure=allow_insecure, resolver=resolver)
    raise_all(errors)
    return checked


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
    return [f"{environment.name}: {error.message}"
            for environment in partner.environments.values()
            for error in environment_errors(environment, allowed_names=allowed,
                                            allow_insecure=allow_insecure, resolver=resolver)[1]]


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
