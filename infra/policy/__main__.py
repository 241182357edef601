"""Serve the policy pack to the Pulumi engine (`pulumi preview --policy-pack infra/policy`)."""

import sys
from pathlib import Path

# The engine runs this file as a script from infra/policy/; the packages live at the root.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from infra.policy.pack import PACK_NAME, build_policies  # noqa: E402

PolicyPack(name=PACK_NAME, policies=build_policies(),
           enforcement_level=EnforcementLevel.MANDATORY)
