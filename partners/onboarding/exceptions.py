"""Errors of onboarding: organisations, environments, endpoints, filters, lifecycle, tokens."""

from __future__ import annotations

from partners.core.exceptions import PartnerGatewayError, ValidationError


class InvalidEndpointError(ValidationError):
    """An endpoint URL the gateway refuses to call (scheme, host, port, SSRF)."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"endpoint URL refused: {reason}", field="endpoint_url")
        self.url = url
        self.reason = reason


class InvalidFilterError(ValidationError):
    """A request filter that cannot be compiled into an EventBridge event pattern.

    `errors` lists every problem found in the filter (each with its field path), so a form
    shows them all at once; a single problem lists itself.
    """

    def __init__(self, message: str, *, field: str | None = None,
                 errors: list[InvalidFilterError] | None = None):
        super().__init__(message, field=field)
        self.errors: list[InvalidFilterError] = list(errors) if errors else [self]


class InvalidSettingsError(ValidationError):
    """Several settings refused at once; `errors` lists each with the field it names (the
    message joins theirs, the field is the first's)."""

    def __init__(self, errors: list[ValidationError]):
        super().__init__("; ".join(error.message for error in errors),
                         field=errors[0].field if errors else None)
        self.errors = list(errors)


class PartnerNotFoundError(PartnerGatewayError, LookupError):
    def __init__(self, partner_id: str):
        super().__init__(f"partner {partner_id} not found")
        self.partner_id = partner_id


class EnvironmentNotFoundError(PartnerGatewayError, LookupError):
    def __init__(self, partner_id: str, environment: str):
        super().__init__(f"partner {partner_id} has no environment {environment!r}")
        self.partner_id = partner_id
        self.environment = environment


class PartnerConflictError(PartnerGatewayError):
    """A write based on a stale version: someone else saved in between; nothing was written."""

    def __init__(self, partner_id: str, expected_version: int):
        super().__init__(
            f"partner {partner_id} changed since version {expected_version}; reload and retry"
        )
        self.partner_id = partner_id
        self.expected_version = expected_version


class SlugTakenError(ValidationError):
    def __init__(self, slug: str):
        super().__init__(f"the slug {slug!r} is already taken", field="slug")
        self.slug = slug


class PartnerNotReadyError(ValidationError):
    """A partner that cannot be submitted or approved as saved; `problems` says why, one
    sentence per problem (an environment's refused endpoint, no environment at all)."""

    def __init__(self, partner_id: str, problems: list[str]):
        super().__init__("; ".join(problems))
        self.partner_id = partner_id
        self.problems = problems


class IllegalTransitionError(PartnerGatewayError):
    """A lifecycle move the transition table does not allow."""

    def __init__(self, partner_id: str, current: str, target: str):
        super().__init__(f"partner {partner_id} cannot go from {current} to {target}")
        self.partner_id = partner_id
        self.current = current
        self.target = target


class TokenError(PartnerGatewayError):
    """Base of API token errors; messages never contain the token."""


class TokenInvalidError(TokenError):
    """Unknown, malformed, revoked or expired token (one error, so nothing leaks which)."""

    def __init__(self, reason: str = "invalid token"):
        super().__init__(reason)
        self.reason = reason


class TokenNotFoundError(TokenError, LookupError):
    def __init__(self, prefix: str):
        super().__init__(f"token {prefix} not found")
        self.prefix = prefix


class MemberNotFoundError(PartnerGatewayError, LookupError):
    """No such member of this organisation (or of any other: one answer for both)."""

    def __init__(self, partner_id: str, user_id: str):
        super().__init__(f"no member {user_id} in partner {partner_id}")
        self.partner_id = partner_id
        self.user_id = user_id


class InvitationNotFoundError(PartnerGatewayError, LookupError):
    def __init__(self, partner_id: str, invitation_id: str):
        super().__init__(f"no invitation {invitation_id} in partner {partner_id}")
        self.partner_id = partner_id
        self.invitation_id = invitation_id


class InvitationInvalidError(PartnerGatewayError):
    """An invitation link that cannot be accepted; `reason` is one of `unknown`, `expired`,
    `accepted`, `cancelled`, `replaced`, `wrong_account`, `member`, and the message says what
    to do in words."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message
