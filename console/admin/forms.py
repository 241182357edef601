"""Forms of the admin screens: decisions with reasons, the endpoint check, audit filters."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class ApproveForm(FlaskForm):
    """Approve or reinstate: only the CSRF token travels."""


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
