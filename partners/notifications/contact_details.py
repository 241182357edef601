"""An end user's contact details and notification preferences: the record and its rules.

Pure: what a registration may say (E.164 phone numbers, plausible email addresses, BCP 47
locales, the channels that have an address) and how an address shows in logs (masked).
`partners.notifications.contacts` stores the record and keeps its email subscription in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from partners.notifications.exceptions import InvalidContactError

CHANNELS = ("email", "sms")
USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
E164_PATTERN = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Deliberately plain: one @, a dotted domain, no spaces or control characters. SNS and the
# user's confirmation click are the real proof that the address works.
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
                           r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                           r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
LOCALE_PATTERN = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}|[0-9]{3}))?$")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")


@dataclass(frozen=True)
class Contact:
    """A user's contact details as stored."""

    user_id: str
    email: str | None = None
    phone: str | None = None
    channels: tuple[str, ...] = ()
    locale: str = "en"
    opted_out: bool = False
    subscription_arn: str | None = None
    version: int = 0
    updated_at: str = ""

    def wants(self, channel: str) -> bool:
        """Whether the user gets notifications on `channel` (opt-out silences every channel)."""
        if self.opted_out or channel not in self.channels:
            return False
        return bool(self.email if channel == "email" else self.phone)

    def to_public(self) -> dict[str, Any]:
        """The JSON the portal sees (the subscription ARN stays internal)."""
        return {"user_id": self.user_id, "email": self.email, "phone": self.phone,
                "channels": list(self.channels), "locale": self.locale,
                "opted_out": self.opted_out, "updated_at": self.updated_at}


def normalize_phone(value: Any) -> str:
    """A phone number in E.164 (`+4915112345678`); spaces, dots, dashes, brackets are dropped.

    Raises
    ------
    InvalidContactError: not a string, or not E.164 once separators are removed.
    """
    if not isinstance(value, str):
        raise InvalidContactError("phone must be a string in E.164 format", field="phone")
    phone = _PHONE_SEPARATORS.sub("", value)
    if not E164_PATTERN.fullmatch(phone):
        raise InvalidContactError(
            "phone must be in E.164 format: + then country code and number, 8 to 16 "
            "characters, e.g. +14155550123", field="phone")
    return phone


def normalize_email(value: Any) -> str:
    """An email address with its domain lower-cased.

    Raises
    ------
    InvalidContactError: not a plausible address, or longer than 254 characters.
    """
    if (not isinstance(value, str) or len(value) > 254
            or not EMAIL_PATTERN.fullmatch(value.strip())):
        raise InvalidContactError("email must be a valid address like name@example.com",
                                  field="email")
    local, _, domain = value.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_locale(value: Any) -> str:
    """A BCP 47 language tag of language and optional region: `en`, `en-GB`, `es-419`.

    Raises
    ------
    InvalidContactError: anything else.
    """
    match = LOCALE_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise InvalidContactError("locale must look like en or en-GB", field="locale")
    language, region = match.group(1).lower(), match.group(2)
    return f"{language}-{region.upper()}" if region else language


def validate_user_id(user_id: Any) -> str:
    """Raise `InvalidContactError` unless `user_id` is 1-64 of `A-Za-z0-9_.:-`."""
    if not isinstance(user_id, str) or not USER_ID_PATTERN.fullmatch(user_id):
        raise InvalidContactError("user_id must be 1-64 characters of A-Z a-z 0-9 _ . : -",
                                  field="user_id")
    return user_id


_FIELDS = frozenset({"email", "phone", "channels", "locale", "opted_out"})


def parse_contact(user_id: str, body: Any) -> Contact:
    """Validate a contact registration (`PUT .../contact` body) into a `Contact`.

    `email` and `phone` may be null or absent; `channels` defaults to every channel that has
    an address; `locale` defaults to `en`; `opted_out` to false.

    Raises
    ------
    InvalidContactError: with the offending field (unknown fields included).
    """
    validate_user_id(user_id)
    if not isinstance(body, Mapping):
        raise InvalidContactError("the body must be a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidContactError(f"unknown field {unknown[0]!r}", field=unknown[0])
    email = normalize_email(body["email"]) if body.get("email") is not None else None
    phone = normalize_phone(body["phone"]) if body.get("phone") is not None else None
    opted_out = body.get("opted_out", False)
    if not isinstance(opted_out, bool):
        raise InvalidContactError("opted_out must be true or false", field="opted_out")
    locale = normalize_locale(body["locale"]) if body.get("locale") is not None else "en"
    channels_value = body.get("channels")
    if channels_value is None:
        channels = tuple(c for c, address in (("email", email), ("sms", phone)) if address)
    else:
        if not isinstance(channels_value, list) or not all(isinstance(c, str)
                                                          for c in channels_value):
            raise InvalidContactError("channels must be a list of email and/or sms",
                                      field="channels")
        bad = [c for c in channels_value if c not in CHANNELS]
        if bad:
            raise InvalidContactError(f"unknown channel {bad[0]!r}; use email or sms",
                                      field="channels")
        channels = tuple(c for c in CHANNELS if c in channels_value)
        if "email" in channels and not email:
            raise InvalidContactError("the email channel needs an email address",
                                      field="channels")
        if "sms" in channels and not phone:
            raise InvalidContactError("the sms channel needs a phone number", field="channels")
    return Contact(user_id=user_id, email=email, phone=phone, channels=channels, locale=locale,
                   opted_out=opted_out)


def mask_email(email: str | None) -> str:
    """`j***@example.com`: enough to tell addresses apart in logs, not to use them."""
    if not email:
        return ""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str | None) -> str:
    """`+49******5678`."""
    if not phone:
        return ""
    if len(phone) < 10:  # too short to show both ends without showing most of it
        return phone[:2] + "*" * (len(phone) - 2)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
