"""Notification templates: every status and locale, GSM-7 only, one SMS segment, SNS subjects."""

from __future__ import annotations

import pytest

from partners.core.contracts import REQUEST_STATUSES
from partners.notifications.templates import (
    GSM7_EXTENSION,
    LABELS,
    SMS_MAX_SEPTETS,
    TEMPLATES,
    gsm7_length,
    is_gsm7,
    render_notification,
    request_label,
    resolve_locale,
    to_gsm7,
    to_subject,
    truncate_gsm7,
)

LONG_PARTNER = "Compagnie Générale d'Assurances et de Prévoyance Mutuelle du Sud-Ouest " * 2
LONG_TYPE = "mortgage.pre_approval.with_extended_documentation_and_co_applicant_review"
LONG_ID = "r-" + "x" * 62

# (partner name, request type, request id): ordinary, long, non-GSM and extension-heavy values.
CASES = [
    ("Acme Bank", "mortgage.application", "r-2f9c1a"),
    (LONG_PARTNER, LONG_TYPE, LONG_ID),
    ("Łódź Kraków Sp. z o.o. “Best” — 🚀", "loan", "r-1"),
    ("[{Braces}] ~Tilde~ |Pipes| €uro^", "insurance.quote", "r-abc"),
    ("[]" * 80, "x", LONG_ID),
    ("   ", "a", "r-2"),
]


def test_every_locale_covers_every_status_and_has_labels():
    for locale, templates in TEMPLATES.items():
        assert set(templates) == set(REQUEST_STATUSES), locale
        assert set(LABELS[locale]) == {"note", "reference"}


@pytest.mark.parametrize("status", REQUEST_STATUSES)
@pytest.mark.parametrize("partner,request_type,request_id", CASES)
def test_sms_is_gsm7_in_one_segment_and_names_request_and_partner(
        status, partner, request_type, request_id):
    notification = render_notification(status, request_id=request_id, request_type=request_type,
                                       partner_name=partner)
    assert is_gsm7(notification.sms)
    assert gsm7_length(notification.sms) <= SMS_MAX_SEPTETS
    # The request id is what the user quotes: it is never shortened.
    assert request_id in notification.sms
    # The partner's name (possibly shortened, transliterated) starts in the text.
    expected_partner = to_gsm7(" ".join(partner.split()) or "Your partner")[:8]
    assert expected_partner in notification.sms


@pytest.mark.parametrize("status", REQUEST_STATUSES)
def test_ordinary_sms_is_not_shortened(status):
    notification = render_notification(status, request_id="r-2f9c1a",
                                       request_type="mortgage.application",
                                       partner_name="Acme Bank")
    assert "Acme Bank" in notification.sms
    assert "mortgage application" in notification.sms
    assert "..." not in notification.sms
    assert notification.sms.startswith("Marketplace: ")


@pytest.mark.parametrize("status", REQUEST_STATUSES)
@pytest.mark.parametrize("partner,request_type,request_id", CASES)
def test_email_subject_is_valid_for_sns_and_body_names_everything(
        status, partner, request_type, request_id):
    notification = render_notification(status, request_id=request_id, request_type=request_type,
                                       partner_name=partner, note="Bring your ID {please}",
                                       reference="REF-7")
    subject = notification.subject
    assert 0 < len(subject) < 100
    assert all(32 <= ord(c) < 127 for c in subject)
    assert "\n" not in subject
    assert request_id in notification.body
    assert (" ".join(partner.split()) or "Your partner") in notification.body
    assert "Bring your ID {please}" in notification.body
    assert "Reference: REF-7" in notification.body


def test_email_body_leaves_out_absent_note_and_reference():
    body = render_notification("accepted", request_id="r-1", request_type="loan",
                               partner_name="Acme").body
    assert "Reference:" not in body
    assert "Message from" not in body
    assert "{" not in body


@pytest.mark.parametrize("locale,expected", [
    ("en", "en"), ("en-GB", "en"), ("EN-us", "en"), ("fr", "en"), ("", "en"), (None, "en"),
])
def test_resolve_locale_falls_back_to_language_then_english(locale, expected):
    assert resolve_locale(locale) == expected


def test_unknown_status_is_refused():
    with pytest.raises(KeyError):
        render_notification("teleported", request_id="r-1", request_type="x", partner_name="A")


@pytest.mark.parametrize("text,expected", [
    ("plain ASCII", "plain ASCII"),
    ("café déjà", "café déjà"),          # é and à are GSM-7
    ("ça ôté", "ca oté"),                # ç, ô are not: accents dropped; é is
    ("“quoted” – dash…", '"quoted" - dash...'),
    ("emoji 🚀 here", "emoji ? here"),
    ("Łódź", "?odz"),
    ("line\nbreak\ttab", "line\nbreak tab"),
    ("€[]{}", "€[]{}"),
])
def test_to_gsm7(text, expected):
    assert to_gsm7(text) == expected
    assert is_gsm7(to_gsm7(text))


@pytest.mark.parametrize("text,septets", [
    ("", 0), ("abc", 3), ("€", 2), ("[x]", 5), ("ü", 1), ("\f", 2),
])
def test_gsm7_length_counts_extension_characters_twice(text, septets):
    assert gsm7_length(text) == septets


def test_gsm7_length_refuses_non_gsm_characters():
    with pytest.raises(ValueError):
        gsm7_length("ç")


@pytest.mark.parametrize("text,limit,expected", [
    ("short", 10, "short"),
    ("exactly ten", 11, "exactly ten"),
    ("a long sentence here", 10, "a long..."),
    ("[[[[[[", 6, "[..."),           # never splits an escape pair: [ costs 2
    ("abc", 2, ".."),
])
def test_truncate_gsm7(text, limit, expected):
    result = truncate_gsm7(text, limit)
    assert result == expected
    assert gsm7_length(result) <= limit


def test_truncate_never_exceeds_limit_with_extension_characters():
    text = "".join(sorted(GSM7_EXTENSION - {"\f"})) * 40
    for limit in range(3, 170):
        assert gsm7_length(truncate_gsm7(text, limit)) <= limit


@pytest.mark.parametrize("text,expected", [
    ("Acme accepted your loan request", "Acme accepted your loan request"),
    ("Crédit “Agricole”\naccepted", 'Credit "Agricole" accepted'),
    ("🚀 rocket", "? rocket"),
])
def test_to_subject(text, expected):
    assert to_subject(text) == expected


def test_to_subject_shortens_to_sns_limit():
    subject = to_subject("x" * 300)
    assert len(subject) == 99 and subject.endswith("...")


@pytest.mark.parametrize("request_type,label", [
    ("mortgage.application", "mortgage application"),
    ("insurance_quote", "insurance quote"),
    ("a-b.c_d", "a b c d"),
    ("loan", "loan"),
])
def test_request_label(request_type, label):
    assert request_label(request_type) == label
