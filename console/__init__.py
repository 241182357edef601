"""The partner console: partners onboard themselves, admins approve.

`create_app(test_config=None)` follows the Flask tutorial's factory: defaults, then the
instance settings from environment variables, then the test's overrides; extensions with
`init_app`; the `auth`, `partner` and `admin` blueprints.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any, Mapping

import click
from flask import Flask, redirect, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

from console.config import REQUIRED, DefaultConfig, settings_from_environment

csrf = CSRFProtect()
logger = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the console.

    Parameters
    ----------
    test_config: settings that replace the environment's (tests pass a boto3 session, a
        clock, a resolver, table names).

    Raises
    ------
    RuntimeError: a required setting (table, bus, user pool) is missing.
    """
    app = Flask(__name__)
    app.config.from_object(DefaultConfig)
    if test_config is None:
        app.config.update(settings_from_environment())
        app.config.from_prefixed_env("FLASK")
    else:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        logger.warning("FLASK_SECRET_KEY is not set: sessions end when this process does")
        app.config["SECRET_KEY"] = secrets.token_urlsafe(32)
    missing = [name for name in REQUIRED if not app.config.get(name)]
    if missing:
        raise RuntimeError(f"the console needs these settings: {', '.join(missing)}")

    from console.security import register_error_pages
    from console.services import gateway
    from console.users import login_manager

    gateway.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    register_error_pages(app)

    from console.admin.routes import bp as admin_bp
    from console.auth.routes import bp as auth_bp
    from console.partner import bp as partner_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(partner_bp)
    app.register_blueprint(admin_bp)

    from console import filters

    filters.register(app)

    @app.get("/")
    def index():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        if current_user.is_admin:
            return redirect(url_for("admin.dashboard"))
        return redirect(url_for("partner.home"))

    @app.get("/healthz")
    def health():
        return {"status": "ok"}

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.password_option()
    def create_admin(email: str, password: str) -> None:
        """Create (or promote) an admin user in the user pool."""
        from console.services import services

        with app.app_context():
            user_id = services().identity.create_admin(email, password)
        click.echo(f"admin {email} ({user_id}) is ready")

    return app
