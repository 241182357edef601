"""Console users in the Cognito user pool: sign up, confirm, log in, reset, groups.

Users sign in with their email; their id is Cognito's `sub`. The groups `admins` and
`partners` decide what they may do; a confirmed user in no group joins `partners` at first
login (admins are made by an operator, see `flask --app console create-admin`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import boto3
from botocore.exceptions import ClientError

from console.exceptions import IdentityError
from partners.core.aws import client, error_code

ADMINS = "admins"
PARTNERS = "partners"


@dataclass(frozen=True)
class PasswordPolicy:
    """The user pool's password policy, so forms check it before Cognito does."""

    minimum_length: int = 8
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = True

    def problems(self, password: str) -> list[str]:
        """What `password` lacks, in words; empty when it satisfies the policy."""
        checks = [
            (len(password) >= self.minimum_length, f"at least {self.minimum_length} characters"),
            (not self.require_uppercase or any(c.isupper() for c in password),
             "an upper-case letter"),
            (not self.require_lowercase or any(c.islower() for c in password),
             "a lower-case letter"),
            (not self.require_numbers or any(c.isdigit() for c in password), "a digit"),
            (not self.require_symbols or any(not c.isalnum() for c in password), "a symbol"),
        ]
        return [text for ok, text in checks if not ok]

    def describe(self) -> str:
        return "Use " + ", ".join(self.problems("")) + "."


@dataclass(frozen=True)
class Identity:
    """Who logged in: Cognito's `sub`, the email and the groups."""

    user_id: str
    email: str
    groups: frozenset[str]


_MESSAGES = {
    "InvalidPasswordException": ("The password does not meet the policy.", "password"),
    "CodeMismatchException": ("That code is not right. Check the latest email.", "code"),
    "ExpiredCodeException": ("That code has expired. Request a new one.", "code"),
    "NotAuthorizedException": ("Wrong email or password.", None),
    "UserNotFoundException": ("Wrong email or password.", None),
    "UserNotConfirmedException": ("Confirm your email first: enter the code we sent you.",
                                  None),
    "LimitExceededException": ("Too many attempts. Wait a while and try again.", None),
    "TooManyRequestsException": ("Too many attempts. Wait a while and try again.", None),
    "TooManyFailedAttemptsException": ("Too many attempts. Wait a while and try again.", None),
    "InvalidParameterException": ("Cognito refused the input: {detail}", None),
}


def _identity_error(error: ClientError) -> IdentityError:
    code = error_code(error)
    if code not in _MESSAGES:
        raise error
    message, field = _MESSAGES[code]
    detail = error.response.get("Error", {}).get("Message", "")
    return IdentityError(message.format(detail=detail), field=field)


class CognitoIdentity:
    """The user pool, through the app client (user flows) and admin calls (groups, status)."""

    def __init__(self, user_pool_id: str, client_id: str, *,
                 boto3_session: boto3.session.Session | None = None):
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self._cognito = client("cognito-idp", boto3_session)

    @cached_property
    def password_policy(self) -> PasswordPolicy:
        policy = (self._cognito.describe_user_pool(UserPoolId=self.user_pool_id)["UserPool"]
                  .get("Policies", {}).get("PasswordPolicy", {}))
        return PasswordPolicy(
            minimum_length=int(policy.get("MinimumLength", 8)),
            require_uppercase=bool(policy.get("RequireUppercase", True)),
            require_lowercase=bool(policy.get("RequireLowercase", True)),
            require_numbers=bool(policy.get("RequireNumbers", True)),
            require_symbols=bool(policy.get("RequireSymbols", True)),
        )

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._cognito, operation)(**kwargs)
        except ClientError as error:
            raise _identity_error(error) from None

    def sign_up(self, email: str, password: str) -> None:
        """Register `email`; Cognito emails a confirmation code.

        An email that already has an account gets the same answer as a new one (no account
        enumeration): nothing is changed or sent for it, and the caller cannot tell.
        """
        try:
            self._cognito.sign_up(ClientId=self.client_id, Username=email, Password=password,
                                  UserAttributes=[{"Name": "email", "Value": email}])
        except ClientError as error:
            if error_code(error) != "UsernameExistsException":
                raise _identity_error(error) from None

    def confirm_sign_up(self, email: str, code: str) -> None:
        self._call("confirm_sign_up", ClientId=self.client_id, Username=email,
                   ConfirmationCode=code)

    def authenticate(self, email: str, password: str) -> Identity:
        """Check the password (`USER_PASSWORD_AUTH`) and return who this is.

        Raises
        ------
        IdentityError: wrong credentials (one message for unknown users too), unconfirmed.
        """
        result = self._call("initiate_auth", ClientId=self.client_id,
                            AuthFlow="USER_PASSWORD_AUTH",
                            AuthParameters={"USERNAME": email, "PASSWORD": password})
        if "AuthenticationResult" not in result:
            # A challenge (new password required, MFA) the console does not offer.
            raise IdentityError("This account needs a step the console does not support "
                                f"({result.get('ChallengeName', 'challenge')}); ask an admin.")
        user = self._call("get_user", AccessToken=result["AuthenticationResult"]["AccessToken"])
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        user_id = attributes.get("sub", user["Username"])
        return Identity(user_id=user_id, email=attributes.get("email", email).lower(),
                        groups=self.groups(user["Username"]))

    def groups(self, username: str) -> frozenset[str]:
        response = self._call("admin_list_groups_for_user", UserPoolId=self.user_pool_id,
                              Username=username)
        return frozenset(g["GroupName"] for g in response.get("Groups", []))

    def add_to_group(self, username: str, group: str) -> None:
        self._call("admin_add_user_to_group", UserPoolId=self.user_pool_id, Username=username,
                   GroupName=group)

    def current(self, user_id: str) -> Identity | None:
        """The user as Cognito sees them now, or None when deleted or disabled."""
        try:
            user = self._cognito.admin_get_user(UserPoolId=self.user_pool_id, Username=user_id)
        except ClientError as error:
            if error_code(error) == "UserNotFoundException":
                return None
            raise
        if not user.get("Enabled", True):
            return None
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        return Identity(user_id=user_id, email=attributes.get("email", "").lower(),
                        groups=self.groups(user_id))

    def forgot_password(self, email: str) -> None:
        """Ask Cognito to email a reset code; says nothing about whether the user exists."""
        try:
            self._cognito.forgot_password(ClientId=self.client_id, Username=email)
        except ClientError as error:
            if error_code(error) in ("UserNotFoundException", "InvalidParameterException",
                                     "NotAuthorizedException"):
                return  # the same answer for unknown and unverified users
            raise _identity_error(error) from None

    def reset_password(self, email: str, code: str, password: str) -> str | None:
        """Set a new password with the emailed code; returns the user's sub (whose console
        sessions the caller then revokes), None when the user is gone by now."""
        self._call("confirm_forgot_password", ClientId=self.client_id, Username=email,
                   ConfirmationCode=code, Password=password)
        try:
            user = self._cognito.admin_get_user(UserPoolId=self.user_pool_id, Username=email)
        except ClientError as error:
            if error_code(error) == "UserNotFoundException":
                return None
            raise
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        return attributes.get("sub", user["Username"])

    def create_admin(self, email: str, temporary_password: str) -> str:
        """Create (or promote) an admin user with a permanent password; returns the sub."""
        try:
            user = self._cognito.admin_create_user(
                UserPoolId=self.user_pool_id, Username=email, MessageAction="SUPPRESS",
                UserAttributes=[{"Name": "email", "Value": email},
                                {"Name": "email_verified", "Value": "true"}],
            )["User"]
        except ClientError as error:
            if error_code(error) != "UsernameExistsException":
                raise
            user = self._cognito.admin_get_user(UserPoolId=self.user_pool_id, Username=email)
        username = user["Username"]
        self._call("admin_set_user_password", UserPoolId=self.user_pool_id, Username=username,
                   Password=temporary_password, Permanent=True)
        self.add_to_group(username, ADMINS)
        attributes = {a["Name"]: a["Value"] for a in
                      user.get("Attributes", user.get("UserAttributes", []))}
        return attributes.get("sub", username)
