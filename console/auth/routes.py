"""Sign up, confirm, log in, log out, reset a password: Cognito behind WTForms."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from console.auth.forms import (
    ConfirmForm,
    ForgotForm,
    LoginForm,
    LogoutForm,
    ResetForm,
    SignUpForm,
)
from console.auth.invitations import invitation
from console.exceptions import AccountLockedError, IdentityError
from console.helpers import form_error
from console.identity import ADMINS, PARTNERS
from console.security import client_address, safe_next
from console.services import services
from console.users import remember, session_id

bp = Blueprint("auth", __name__, url_prefix="/auth")
# An invitation link (public: it says what it offers before anyone signs in).
bp.add_url_rule("/invitations/<token>", view_func=invitation, methods=["GET", "POST"])


def _onward(**kwargs: str) -> dict[str, str]:
    """`kwargs` plus the request's safe `next` (an invitation's way back), when it has one."""
    onward = safe_next(request.args.get("next"), "")
    return {**kwargs, **({"next": onward} if onward else {})}


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Register with email and password (the user pool's policy)."""
    form = SignUpForm()
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"][:254]  # an invitation's address
    if form.validate_on_submit():
        try:
            services().identity.sign_up(form.email.data, form.password.data)
        except IdentityError as error:
            form_error(form, error)
        else:
            # The same answer whether or not the email already has an account.
            flash("Check your email: we sent a confirmation code to this address. If it "
                  "already has an account, log in or reset your password instead.", "success")
            return redirect(url_for("auth.confirm", **_onward(email=form.email.data)))
    return render_template("auth/signup.html", form=form,
                           policy=services().identity.password_policy.describe())


@bp.route("/confirm", methods=["GET", "POST"])
def confirm():
    """Confirm the email with the emailed code (Cognito ConfirmSignUp)."""
    form = ConfirmForm()
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"][:254]
    if form.validate_on_submit():
        try:
            services().identity.confirm_sign_up(form.email.data, form.code.data)
        except IdentityError as error:
            form_error(form, error)
        else:
            flash("Your email is confirmed. Log in to create your organisation.", "success")
            return redirect(url_for("auth.login", **_onward(email=form.email.data)))
    return render_template("auth/confirm.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in (every attempt counted per account and per address before Cognito is asked)
    and go to a safe `next`."""
    if current_user.is_authenticated:
        return redirect(url_for("index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"), "")
        if request.args.get("email"):
            form.email.data = request.args["email"][:254]
    status = 200
    if form.validate_on_submit():
        throttle = services().throttle
        address = client_address()
        try:
            throttle.attempt(form.email.data, address)
            identity = services().identity.authenticate(form.email.data, form.password.data)
        except AccountLockedError as error:
            form_error(form, error)
            status = 429
        except IdentityError as error:
            form_error(form, error)
        else:
            throttle.succeeded(form.email.data, address)
            if not identity.groups & {ADMINS, PARTNERS}:
                # Self-service: a confirmed user joins the partners group at first login.
                services().identity.add_to_group(identity.user_id, PARTNERS)
                identity = services().identity.current(identity.user_id) or identity
            services().sessions.end(session_id())  # a sign-in over a live one replaces it
            session.clear()  # a fresh session: nothing carried over from before the login
            user = remember(identity, services().clock(),
                            services().sessions.start(identity.user_id))
            login_user(user)
            session.permanent = True
            return redirect(safe_next(form.next.data, url_for("index")))
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    """Log out (a POST with a CSRF token): the server-side session ends, so a saved copy
    of the cookie opens nothing afterwards."""
    form = LogoutForm()
    if form.validate_on_submit():
        services().sessions.end(session_id())
        logout_user()
        session.clear()
        flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    """Ask Cognito to email a password reset code."""
    form = ForgotForm()
    if form.validate_on_submit():
        try:
            services().identity.forgot_password(form.email.data)
        except IdentityError as error:
            form_error(form, error)
        else:
            flash("If an account exists for this email, we sent it a reset code.", "info")
            return redirect(url_for("auth.reset", email=form.email.data))
    return render_template("auth/forgot.html", form=form)


@bp.route("/reset", methods=["GET", "POST"])
def reset():
    """Set a new password with the emailed code."""
    form = ResetForm()
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"][:254]
    if form.validate_on_submit():
        try:
            user_id = services().identity.reset_password(form.email.data, form.code.data,
                                                         form.password.data)
        except IdentityError as error:
            form_error(form, error)
        else:
            if user_id:
                # Whoever held a session with the old password holds nothing now.
                services().sessions.revoke_user(user_id)
            flash("Your password is changed. Log in with the new one.", "success")
            return redirect(url_for("auth.login", email=form.email.data))
    return render_template("auth/reset.html", form=form,
                           policy=services().identity.password_policy.describe())
