"""The console's session key comes from Secrets Manager, named by the environment.

GetSecretValue answers the `AWSCURRENT` version by default and ResourceNotFoundException for a
staging label no version carries:
https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
"""

from __future__ import annotations

import pytest

from console import create_app
from console.config import settings_from_environment
from console.secret_key import MINIMUM_KEY_LENGTH, SessionKeyError, read_session_keys
from infra.local.provision import provision_console_session_secret
from partners.core.constants import Env

KEY = "k" * 48
NEW_KEY = "n" * 48


@pytest.fixture
def secret(aws):
    return aws.client("secretsmanager").create_secret(Name="pgw/test/console/session-key",
                                                      SecretString=KEY)["ARN"]


def test_the_current_key_signs_and_there_is_no_fallback_before_a_rotation(aws, secret):
    keys = read_session_keys(secret, session=aws)
    assert keys.current == KEY and keys.previous == ()


def test_after_a_rotation_the_previous_key_still_verifies(aws, secret):
    aws.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=NEW_KEY)
    keys = read_session_keys(secret, session=aws)
    assert keys.current == NEW_KEY and keys.previous == (KEY,)


def test_a_missing_secret_is_named_and_the_console_does_not_start(aws):
    with pytest.raises(SessionKeyError, match="pgw/test/console/nope.*ResourceNotFound"):
        read_session_keys("pgw/test/console/nope", session=aws)


def test_a_short_key_is_refused_without_showing_it(aws):
    arn = aws.client("secretsmanager").create_secret(Name="short", SecretString="tiny")["ARN"]
    with pytest.raises(SessionKeyError, match=f"at least {MINIMUM_KEY_LENGTH}") as raised:
        read_session_keys(arn, session=aws)
    assert "tiny" not in str(raised.value)


def test_settings_read_the_key_the_variable_names(aws, secret):
    settings = settings_from_environment({Env.CONSOLE_SESSION_SECRET: secret}, session=aws)
    assert settings["SECRET_KEY"] == KEY and settings["SECRET_KEY_FALLBACKS"] == []
    assert "SECRET_KEY" not in settings_from_environment({})


def test_the_app_takes_its_key_from_the_provisioned_secret_not_a_variable(
        monkeypatch, stage, aws):
    """The embedded stack provisions the secret and names it, as the Pulumi program does."""
    variables = stage.environment_variables()
    assert variables[Env.CONSOLE_SESSION_SECRET] == stage.console_session_secret_arn
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    monkeypatch.setenv("FLASK_SESSION_COOKIE_SECURE", "false")
    stored = aws.client("secretsmanager").get_secret_value(
        SecretId=stage.spec.console_session_secret_name)["SecretString"]
    app = create_app()
    assert app.config["SECRET_KEY"] == stored and len(stored) >= MINIMUM_KEY_LENGTH
    # Provisioning again keeps the key (sessions survive a restart of the stack).
    assert provision_console_session_secret(stage.spec, session=aws) == \
        stage.console_session_secret_arn
    assert create_app().config["SECRET_KEY"] == stored


def test_a_session_signed_with_the_previous_key_survives_a_rotation(monkeypatch, stage, aws):
    for name, value in stage.environment_variables().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    monkeypatch.setenv("FLASK_SESSION_COOKIE_SECURE", "false")
    before = create_app()
    serializer = before.session_interface.get_signing_serializer(before)
    cookie = serializer.dumps({"probe": "kept"})
    aws.client("secretsmanager").put_secret_value(
        SecretId=stage.console_session_secret_arn, SecretString=NEW_KEY)
    after = create_app()
    assert after.config["SECRET_KEY"] == NEW_KEY
    assert after.session_interface.get_signing_serializer(after).loads(cookie) == {
        "probe": "kept"}
