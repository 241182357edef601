"""Preflight: read-only checks an operator runs with AWS credentials before the first
`pulumi up` of a stage (`python -m infra.cloud.preflight --stack prod`, `make preflight`).

Quotas in use and their headroom, the SMS sandbox and spending quota, SES for Cognito's email,
the Powertools layer in the region, and the bucket names: one PASS / WARN / FAIL line each
with its numbers and the fix; the exit status is 1 when anything FAILs.
"""

from infra.cloud.preflight.results import Check, Status, exit_status, report
from infra.cloud.preflight.runner import main, run_checks, session_clients
from infra.cloud.preflight.settings import PreflightSettings, load_settings, settings_from_config

__all__ = ["Check", "PreflightSettings", "Status", "exit_status", "load_settings", "main",
           "report", "run_checks", "session_clients", "settings_from_config"]
