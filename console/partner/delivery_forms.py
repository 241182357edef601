"""Forms of the Deliveries screen: the log's filters (a GET form) and the resend buttons."""

from __future__ import annotations

import re
from datetime import timezone

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, Form, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, Regexp, ValidationError

OUTCOMES = ("delivered", "retrying", "failed", "dead_lettered")
DELIVERY_ID = re.compile(r"^dlv_[0-9a-f]{24}$")
TIME_HELP = "UTC, like 2026-11-23T10:00"


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class DeliveryFilterForm(Form):
    """The log's filters, read from the query string (a GET form needs no CSRF token)."""

    outcome = SelectField("Outcome", choices=[SelectChoice("", "Any outcome")] + [
        SelectChoice(o, o.replace("_", " ")) for o in OUTCOMES], default="",
        validate_choice=False)
    request_type = StringField("Request type", filters=[_strip], validators=[
        Optional(), Length(max=64),
        Regexp(r"^[a-z][a-z0-9_.-]{0,63}$",
               message="Lower-case letters, digits, '.', '_' or '-'.")])
    request_id = StringField("Request id", filters=[_strip], validators=[
        Optional(), Length(max=100),
        Regexp(r"^[A-Za-z0-9_.:-]+$", message="Letters, digits, '.', ':', '_' or '-'.")])
    since = DateTimeLocalField("Since", validators=[Optional()], description=TIME_HELP,
                               format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                                       "%Y-%m-%d %H:%M"])
    until = DateTimeLocalField("Until", validators=[Optional()], description=TIME_HELP,
                               format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                                       "%Y-%m-%d %H:%M"])

    def validate_outcome(self, field: SelectField) -> None:
        if field.data and field.data not in OUTCOMES:
            raise ValidationError(f"Choose one of: {', '.join(OUTCOMES)}.")

    def validate_until(self, field: DateTimeLocalField) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("Until must not be before since.")

    def utc(self, name: str):
        """The `since` or `until` time, in UTC (the fields take UTC)."""
        value = getattr(self, name).data
        return value.replace(tzinfo=timezone.utc) if value else None

    def query_args(self) -> dict[str, str]:
        """The filters as query parameters (for the next page's link), empty ones left out."""
        args = {"outcome": self.outcome.data, "request_type": self.request_type.data,
                "request_id": self.request_id.data}
        for name in ("since", "until"):
            value = getattr(self, name).data
            if value:
                args[name] = value.strftime("%Y-%m-%dT%H:%M")
        return {k: v for k, v in args.items() if v}


class ResendForm(FlaskForm):
    """Resend the chosen deliveries (ids in `delivery_id` checkboxes); the CSRF token travels."""


class ReenableForm(FlaskForm):
    """Re-enable a disabled endpoint (after its check); only the CSRF token travels."""
