"""Forms of the partner screens: organisation, environment settings, filter, tokens, tests."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from partners.onboarding import (
    EMAIL_PATTERN,
    EVENT_AGE_RANGE,
    HEADER_NAME_PATTERN,
    MAX_CONDITIONS,
    RATE_LIMIT_RANGE,
    RETRY_ATTEMPTS_RANGE,
    SLUG_PATTERN,
    AuthType,
    DeliveryMode,
    Operator,
)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class OrganisationForm(FlaskForm):
    display_name = StringField("Organisation name", validators=[DataRequired(), Length(2, 80)],
                               filters=[_strip])
    slug = StringField("Short name (slug)", validators=[
        DataRequired(), Regexp(SLUG_PATTERN, message="3-40 lower-case letters, digits or '-', "
                                                     "not starting or ending with '-'.")],
        filters=[_strip, lambda v: v.lower() if v else v],
        description="Used in URLs and logs; it cannot change later.")
    contact_email = StringField("Technical contact email", validators=[
        DataRequired(), Length(max=254),
        Regexp(EMAIL_PATTERN, message="Enter a valid email address.")], filters=[_strip])


class ProfileForm(FlaskForm):
    display_name = OrganisationForm.display_name
    contact_email = OrganisationForm.contact_email


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token travels."""


AUTH_CHOICES = [SelectChoice(AuthType.API_KEY.value, "API key in a header"),
                SelectChoice(AuthType.BASIC.value, "Basic auth (username and password)"),
                SelectChoice(AuthType.OAUTH_CLIENT_CREDENTIALS.value,
                             "OAuth 2.0 client credentials")]


class EnvironmentForm(FlaskForm):
    mode = RadioField("Delivery", choices=[
        SelectChoice(DeliveryMode.PUSH.value, "Push: we POST each request to your endpoint"),
        SelectChoice(DeliveryMode.POLL.value, "Poll: requests wait in your inbox; you fetch them")],
        validators=[InputRequired()])
    endpoint_url = StringField("Endpoint URL", validators=[Optional(), Length(max=2048)],
                               filters=[_strip])
    auth_type = SelectField("Endpoint authentication", choices=AUTH_CHOICES,
                            validators=[InputRequired()])
    header_name = StringField("Header name", validators=[
        Optional(), Regexp(HEADER_NAME_PATTERN, message="A header name: letters, digits, '-'.")],
        filters=[_strip])
    username = StringField("Username", validators=[Optional(), Length(max=128)],
                           filters=[_strip])
    token_url = StringField("Token URL", validators=[Optional(), Length(max=2048)],
                            filters=[_strip])
    client_id = StringField("Client id", validators=[Optional(), Length(max=256)],
                            filters=[_strip])
    scope = StringField("Scope", validators=[Optional(), Length(max=256)], filters=[_strip])
    secret = PasswordField("New credential", validators=[Optional(), Length(max=4096)],
                           description="Write-only: the API key value, the password or the "
                                       "client secret. Leave empty to keep the current one.",
                           render_kw={"autocomplete": "new-password"})
    rate_limit_per_second = IntegerField("Rate limit (requests per second)", validators=[
        InputRequired("Enter a whole number."), NumberRange(*RATE_LIMIT_RANGE)])
    maximum_event_age_seconds = IntegerField("Give up after (seconds)", validators=[
        InputRequired("Enter a whole number."), NumberRange(*EVENT_AGE_RANGE)])
    maximum_retry_attempts = IntegerField("Retry attempts", validators=[
        InputRequired("Enter a whole number."), NumberRange(*RETRY_ATTEMPTS_RANGE)])


OPERATOR_CHOICES = [SelectChoice(value, label) for value, label in [
    ("", "(no condition)"),
    (Operator.ANY_OF.value, "is one of"), (Operator.NONE_OF.value, "is none of"),
    (Operator.PREFIX.value, "starts with"), (Operator.SUFFIX.value, "ends with"),
    (Operator.EQUALS_IGNORE_CASE.value, "equals (ignoring case)"),
    (Operator.GREATER_THAN.value, "is greater than"), (Operator.LESS_THAN.value, "is less than"),
    (Operator.BETWEEN.value, "is between"), (Operator.EXISTS.value, "is present"),
    (Operator.ABSENT.value, "is absent")]]


class ConditionForm(Form):
    """One row of the filter editor (a sub-form: the CSRF token is the outer form's)."""

    attribute = StringField("Attribute", validators=[Optional(), Length(max=64)],
                            filters=[_strip])
    operator = SelectField("Operator", choices=OPERATOR_CHOICES, validators=[Optional()])
    values = StringField("Values", validators=[Optional(), Length(max=2000)], filters=[_strip],
                         description="Comma-separated; numbers for comparisons.")


# Rows the editor takes: every condition a filter may hold, and as many blank or extra rows,
# so a filter with one condition too many reaches the domain's refusal instead of being cut.
MAX_FILTER_ROWS = 2 * MAX_CONDITIONS


class RowList(FieldList):
    """A FieldList that refuses more posted rows than `max_entries`.

    WTForms' FieldList keeps the first `max_entries` rows and silently drops the rest: a save
    would then store part of what the partner sent and call it saved.
    """

    posted = 0

    def process(self, formdata, data=unset_value, extra_filters=None):  # type: ignore[override]
        self.posted = len(set(self._extract_indices(self.name, formdata))) if formdata else 0
        super().process(formdata, data, extra_filters)

    def validate(self, form, extra_validators=()):  # type: ignore[override]
        valid = super().validate(form, extra_validators)
        if self.max_entries and self.posted > self.max_entries:
            self.errors = [*self.errors, f"The editor takes at most {self.max_entries} rows; "
                                         f"{self.posted} were sent. Nothing was saved."]
            return False
        return valid


class FilterForm(FlaskForm):
    request_types = StringField("Request types", validators=[DataRequired(), Length(max=4000)],
                                filters=[_strip],
                                description="Comma-separated, or * for every type.")
    conditions = RowList(FormField(ConditionForm), min_entries=0, max_entries=MAX_FILTER_ROWS)


class TokenForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="A name is required."),
                                           Length(max=64)], filters=[_strip],
                       description="What uses this token, e.g. 'order-service'.")


class RevokeForm(FlaskForm):
    """Revoking is immediate and cannot be undone: the box must be ticked (no JavaScript)."""

    confirm = BooleanField("I understand: calls with this token get 401 at once",
                           validators=[DataRequired(message="Tick the box to confirm.")])


OVERLAP_CHOICES = [SelectChoice("0", "immediately"), SelectChoice("1", "after 1 hour"),
                   SelectChoice("24", "after 24 hours"), SelectChoice("168", "after 7 days")]


class RotateForm(FlaskForm):
    overlap_hours = SelectField("Old token stops working", choices=OVERLAP_CHOICES,
                                default="24")


class TestEventForm(FlaskForm):
    request_type = StringField("Request type", validators=[
        DataRequired(), Regexp(r"^[a-z][a-z0-9_.-]{0,63}$",
                               message="Lower-case letters, digits, '.', '_' or '-'.")],
        filters=[_strip])
    attributes = TextAreaField("Attributes (JSON object)", default="{}",
                               validators=[Optional(), Length(max=8000)])


class RedriveForm(FlaskForm):
    everything = BooleanField("Redrive every failed delivery")
