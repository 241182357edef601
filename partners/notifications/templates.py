"""What an end user reads when a request's status changes: SMS and email text per status.

Every status of `partners.core.contracts.REQUEST_STATUSES` has, per locale, an SMS template and an
email subject and body; all of them name the request and the partner. Rendering is pure:

- SMS text is GSM-7 only (characters outside the GSM 03.38 alphabet are transliterated or
  replaced, so a carrier never switches the message to UCS-2 and its 70-character segments)
  and fits one segment of 160 septets (extension characters such as `€` or `[` count twice);
  long partner names and request labels are shortened first, the whole text last.
- Email subjects obey SNS's rules for `Subject` (ASCII, no line breaks, under 100 characters);
  bodies are plain text (SNS email is plain text).

Locales: `en` today; a new locale is one more entry in `TEMPLATES` (a test checks that every
locale covers every status). Unknown locales fall back to their language, then to `en`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from partners.core.contracts import REQUEST_STATUSES

DEFAULT_LOCALE = "en"
SMS_MAX_SEPTETS = 160
SUBJECT_MAX_CHARACTERS = 99  # SNS: "must be less than 100 characters"
ELLIPSIS = "..."  # GSM-7 has no single-character ellipsis

# GSM 03.38 basic character set (one septet each), and the extension table reached through
# the escape character (two septets each).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

# Common characters outside GSM-7 and their closest GSM-7 spelling.
_GSM7_SUBSTITUTES = MappingProxyType({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "«": '"', "»": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\t": " ",
    "\u2022": "-", "\u00b7": "-", "\u2122": "TM", "\u00a9": "(c)", "\u00ae": "(R)",
})


@dataclass(frozen=True)
class StatusTemplate:
    """The texts of one status in one locale.

    Placeholders: `{request}` (a readable request label), `{request_id}`, `{partner}`,
    `{brand}`; the email body also gets `{note_block}` and `{reference_block}` (empty lines
    when the partner gave none).
    """

    sms: str
    subject: str
    body: str


@dataclass(frozen=True)
class Notification:
    """The rendered texts for one status event."""

    locale: str
    status: str
    sms: str
    subject: str
    body: str


_EN_BODY = (
    "Hello,\n\n{message}\n\n"
    "Request: {request} ({request_id})\n"
    "Partner: {partner}\n"
    "{reference_block}{note_block}\n"
    "You receive this email because you asked {brand} to keep you informed about this "
    "request. You can change your notification preferences in the {brand} portal.\n"
)


def _en(sms: str, subject: str, message: str) -> StatusTemplate:
    return StatusTemplate(sms=sms, subject=subject, body=_EN_BODY.replace("{message}", message))


TEMPLATES: Mapping[str, Mapping[str, StatusTemplate]] = MappingProxyType({
    "en": MappingProxyType({
        "received": _en(
            "{brand}: {partner} has received your {request} request {request_id}.",
            "{partner} has received your {request} request",
            "{partner} has received your {request} request and will look at it shortly.",
        ),
        "in_progress": _en(
            "{brand}: {partner} is working on your {request} request {request_id}.",
            "{partner} is working on your {request} request",
            "{partner} has started working on your {request} request.",
        ),
        "accepted": _en(
            "{brand}: good news! {partner} accepted your {request} request {request_id}.",
            "{partner} accepted your {request} request",
            "Good news: {partner} has accepted your {request} request.",
        ),
        "declined": _en(
            "{brand}: {partner} declined your {request} request {request_id}. "
            "See the portal for details.",
            "{partner} declined your {request} request",
            "{partner} has declined your {request} request. The portal shows your other "
            "options.",
        ),
        "fulfilled": _en(
            "{brand}: your {request} request {request_id} with {partner} is complete.",
            "Your {request} request with {partner} is complete",
            "{partner} has completed your {request} request.",
        ),
        "failed": _en(
            "{brand}: {partner} could not complete your {request} request {request_id}. "
            "See the portal for details.",
            "{partner} could not complete your {request} request",
            "{partner} could not complete your {request} request. The portal shows what "
            "happened and what you can do next.",
        ),
    }),
})


# Labels around the partner's free text in the email body, per locale.
LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "en": MappingProxyType({"note": "Message from {partner}:",
                            "reference": "Reference: {reference}"}),
})


def resolve_locale(locale: str | None, templates: Mapping[str, object] = TEMPLATES) -> str:
    """The template locale to use for `locale`: itself, its language (`en-GB` -> `en`), or `en`."""
    if locale:
        if locale in templates:
            return locale
        language = locale.split("-")[0].lower()
        if language in templates:
            return language
    return DEFAULT_LOCALE


def request_label(request_type: str) -> str:
    """A readable name for a request type: `mortgage.pre_approval` -> `mortgage pre approval`."""
    words = request_type.replace(".", " ").replace("_", " ").replace("-", " ").split()
    return " ".join(words) or "service"


# --- GSM-7 -------------------------------------------------------------------------------

def is_gsm7(text: str) -> bool:
    """Whether every character of `text` is in the GSM-7 basic or extension table."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def gsm7_length(text: str) -> int:
    """Septets `text` takes in GSM-7 (extension characters take two).

    Raises
    ------
    ValueError: `text` has a character outside GSM-7 (run `to_gsm7` first).
    """
    length = 0
    for character in text:
        if character in GSM7_BASIC:
            length += 1
        elif character in GSM7_EXTENSION:
            length += 2
        else:
            raise ValueError(f"{character!r} is not a GSM-7 character")
    return length


def _gsm7_character(character: str) -> str:
    if character in GSM7_BASIC or character in GSM7_EXTENSION:
        return character
    if character in _GSM7_SUBSTITUTES:
        return _GSM7_SUBSTITUTES[character]
    if character in "\n\r\v\u2028\u2029":
        return " "
    # Accented letters outside the table lose their accents (ç -> c, ł stays unknown).
    stripped = "".join(c for c in unicodedata.normalize("NFKD", character)
                       if not unicodedata.combining(c))
    if stripped and all(c in GSM7_BASIC for c in stripped):
        return stripped
    return "?"


def to_gsm7(text: str) -> str:
    """`text` with every character outside GSM-7 transliterated, or replaced by `?`."""
    return "".join(_gsm7_character(c) for c in text)


def truncate_gsm7(text: str, limit: int) -> str:
    """The longest prefix of GSM-7 `text` within `limit` septets, ending in `...` if cut.

    Never splits an extension character (escape + character), and strips the space a cut
    leaves before the ellipsis.
    """
    if gsm7_length(text) <= limit:
        return text
    budget = limit - len(ELLIPSIS)
    kept, used = [], 0
    for character in text:
        cost = 2 if character in GSM7_EXTENSION else 1
        if used + cost > budget:
            break
        kept.append(character)
        used += cost
    return "".join(kept).rstrip() + ELLIPSIS if budget > 0 else ELLIPSIS[:max(limit, 0)]


# --- Subject (SNS: ASCII, no line breaks, < 100 characters) ------------------------------

def to_subject(text: str) -> str:
    """`text` made a valid SNS email subject: printable ASCII, one line, at most 99 characters."""
    characters = []
    for character in " ".join(text.split()):
        if 32 <= ord(character) < 127:
            characters.append(character)
            continue
        replacement = _GSM7_SUBSTITUTES.get(character)
        if replacement is None:
            replacement = "".join(c for c in unicodedata.normalize("NFKD", character)
                                  if not unicodedata.combining(c) and 32 <= ord(c) < 127)
        characters.append(replacement or "?")
    subject = "".join(characters).strip()
    if len(subject) > SUBJECT_MAX_CHARACTERS:
        subject = subject[:SUBJECT_MAX_CHARACTERS - len(ELLIPSIS)].rstrip() + ELLIPSIS
    return subject


# --- Rendering ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Values:
    brand: str
    request: str
    request_id: str
    partner: str


def _render_sms(template: str, values: _Values) -> str:
    """Fill `template` in GSM-7 within one segment, shortening the free-text values first."""
    brand, request = to_gsm7(values.brand), to_gsm7(values.request)
    partner = to_gsm7(values.partner)
    request_id = to_gsm7(values.request_id)

    def fill() -> str:
        return template.format(brand=brand, request=request, request_id=request_id,
                               partner=partner)

    text = fill()
    # Shorten the longest free-text value (partner name or request label) a step at a time,
    # never below a readable minimum; the request id is what the user quotes, so it stays.
    minimum = 12
    while gsm7_length(text) > SMS_MAX_SEPTETS:
        excess = gsm7_length(text) - SMS_MAX_SEPTETS
        partner_length, request_length = gsm7_length(partner), gsm7_length(request)
        if partner_length >= request_length and partner_length > minimum:
            partner = truncate_gsm7(partner, max(minimum, partner_length - excess))
        elif request_length > minimum:
            request = truncate_gsm7(request, max(minimum, request_length - excess))
        else:
            break
        text = fill()
    return truncate_gsm7(text, SMS_MAX_SEPTETS)


def render_notification(status: str, *, request_id: str, request_type: str, partner_name: str,
                        locale: str | None = None, note: str | None = None,
                        reference: str | None = None,
                        brand: str = "Marketplace") -> Notification:
    """Render the SMS and email a user gets when their request reaches `status`.

    Parameters
    ----------
    status: one of `partners.core.contracts.REQUEST_STATUSES`.
    request_id, request_type: the request, as on the event.
    partner_name: the partner's display name (its id when the event carries no name).
    locale: the user's locale (`en`, `en-GB`, ...); unknown locales fall back to `en`.
    note, reference: the partner's free text and reference, shown in the email only.
    brand: the marketplace's name at the start of each SMS and in the email footer.

    Returns
    -------
    Notification: GSM-7 SMS within 160 septets, an SNS-valid subject, a plain-text body.

    Raises
    ------
    KeyError: `status` has no template (it is not a request status).
    """
    chosen = resolve_locale(locale)
    template = TEMPLATES[chosen][status]
    partner = " ".join(partner_name.split()) or "Your partner"
    values = _Values(brand=brand, request=request_label(request_type), request_id=request_id,
                     partner=partner)
    fields = {"brand": brand, "request": values.request, "request_id": request_id,
              "partner": partner}
    labels = LABELS[chosen]
    note_block = (f"\n{labels['note'].format(partner=partner)}\n{note.strip()}\n"
                  if note and note.strip() else "")
    reference_block = (labels["reference"].format(reference=reference.strip()) + "\n"
                       if reference and reference.strip() else "")
    return Notification(
        locale=chosen,
        status=status,
        sms=_render_sms(template.sms, values),
        subject=to_subject(template.subject.format(**fields)),
        body=template.body.format(**fields, note_block=note_block,
                                  reference_block=reference_block),
    )


def statuses_covered(locale: str) -> frozenset[str]:
    """Statuses that `locale` has templates for (every status, for a complete locale)."""
    return frozenset(TEMPLATES.get(locale, {}))


__all__ = [
    "DEFAULT_LOCALE", "GSM7_BASIC", "GSM7_EXTENSION", "Notification", "REQUEST_STATUSES",
    "SMS_MAX_SEPTETS", "StatusTemplate", "TEMPLATES", "gsm7_length", "is_gsm7",
    "render_notification", "request_label", "resolve_locale", "statuses_covered",
    "to_gsm7", "to_subject", "truncate_gsm7",
]
