"""Forms of the admin screens: decisions with reasons, the endpoint check, audit filters."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError


class ApproveForm(FlaskForm):
    """Reinstate: only the CSRF token travels."""


class ApprovalForm(FlaskForm):
    """Approve: the endpoint checks run again; overriding a failed one takes a reason."""

    override = BooleanField("Approve even if an endpoint check fails")
    override_reason = TextAreaField("Override reason (admins only; kept in the audit log)",
                                    validators=[Length(max=1000)],
                                    filters=[lambda v: v.strip() if v else v])

    def validate_override_reason(self, field: TextAreaField) -> None:
        if self.override.data and len(field.data or "") < 3:
            raise ValidationError("Say why you approve although the endpoint check fails.")
        if field.data and not self.override.data:
            raise ValidationError("Tick the override box to use this reason, or clear it.")


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason (the partner sees it)", validators=[
        DataRequired("Say why: the partner reads this."), Length(3, 1000)],
        filters=[lambda v: v.strip() if v else v])


class EndpointCheckForm(FlaskForm):
    environment = SelectField("Environment", choices=[], validators=[DataRequired()])


class AuditFilterForm(FlaskForm):
    """The audit log's filters travel in the query string (a GET: no CSRF to check)."""

    class Meta:
        csrf = False

    day = DateField("Day (UTC)", validators=[Optional()])
    actor = StringField("Actor", validators=[Optional(), Length(max=260)],
                        filters=[lambda v: v.strip() if v else v],
                        description="e.g. user:ana@example.com or system:reconciler")
    action = StringField("Action starts with", validators=[
        Optional(), Length(max=64),
        Regexp(r"^[a-z_.]*$", message="Actions are lower-case words and dots.")],
        filters=[lambda v: v.strip() if v else v])
