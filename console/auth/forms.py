"""Forms of sign-up, confirmation, login and password reset."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from console.services import services
from partners.onboarding import EMAIL_PATTERN


class PolicyPassword:
    """Check a new password against the user pool's policy, naming what is missing."""

    def __call__(self, form: FlaskForm, field) -> None:
        problems = services().identity.password_policy.problems(field.data or "")
        if problems:
            raise ValidationError("The password needs " + ", ".join(problems) + ".")


def _email() -> EmailField:
    return EmailField("Email", validators=[DataRequired(), Length(max=254),
                                           Regexp(EMAIL_PATTERN, message="Enter a valid email address.")],
                      filters=[lambda v: v.strip().lower() if v else v],
                      render_kw={"autocomplete": "email"})


class SignUpForm(FlaskForm):
    email = _email()
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256),
                                                     PolicyPassword()],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat the password",
                            validators=[DataRequired(), EqualTo("password",
                                                                "The passwords differ.")],
                            render_kw={"autocomplete": "new-password"})


class ConfirmForm(FlaskForm):
    email = _email()
    code = StringField("Confirmation code", validators=[
        DataRequired(), Length(max=64),
        Regexp(r"^[A-Za-z0-9:_-]+$", message="The code is letters and digits.")],
        filters=[lambda v: v.strip() if v else v],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class LoginForm(FlaskForm):
    email = _email()
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class ForgotForm(FlaskForm):
    email = _email()


class ResetForm(FlaskForm):
    email = _email()
    code = ConfirmForm.code
    password = SignUpForm.password
    confirm = SignUpForm.confirm


class LogoutForm(FlaskForm):
    """Logging out is a POST with a CSRF token (a GET link could be triggered by any page)."""
