"""ConsoleSessionKey: the Secrets Manager secret holding the console's Flask session key.

The console reads it once per execution environment (console/secret_key.py); its function
gets only the secret's ARN. The value is the stack's `consoleSessionSecret` (generated once by
the operator with `openssl rand`, kept encrypted in the stack file), so it is stable: `pulumi
up` writes a new secret version only when that setting changes, and a rotation is `pulumi
config set --secret consoleSessionSecret ...` then `pulumi up` (the console accepts the
previous version's sessions until they expire). Why not a generated value: pulumi-random is
not available here, and an invoke such as `GetRandomPassword` answers differently on every
run, so the version would change (and sign everyone out) on every `pulumi up`; generating at
the console's first read would need write access to its own key at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.spec import StageSpec


@dataclass
class ConsoleSessionKeyArgs:
    """The stage spec (the secret's name), the key (a Pulumi secret) and data protection."""

    spec: StageSpec
    value: pulumi.Input[str]
    protect_data: bool = False


class ConsoleSessionKey(pulumi.ComponentResource):
    """The secret `spec.console_session_secret_name` and its current version."""

    secret: aws.secretsmanager.Secret
    version: aws.secretsmanager.SecretVersion

    def __init__(self, name: str, args: ConsoleSessionKeyArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:ConsoleSessionKey", name, None, opts)
        spec = args.spec
        self.secret = aws.secretsmanager.Secret(
            f"{name}-secret",
            name=spec.console_session_secret_name,
            description=f"{spec.prefix} console session key (Flask SECRET_KEY)",
            # A deleted key can be restored for a week; a protected stage's is never deleted.
            recovery_window_in_days=7,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_data))
        self.version = aws.secretsmanager.SecretVersion(
            f"{name}-version",
            secret_id=self.secret.id,
            secret_string=pulumi.Output.secret(args.value),
            opts=pulumi.ResourceOptions(parent=self))
        self.arn = self.secret.arn
        self.register_outputs({"arn": self.secret.arn})
