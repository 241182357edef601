"""S3 bucket names of a stage: unique to the deploying account, region and stage.

Bucket names are global: a fixed `pgw-dev-datalake` fails with BucketAlreadyExists as soon as
anyone holds it. A stage's buckets are created in the deploying account's regional namespace
(`<prefix>-<account id>-<region>-an`, a name only that account can create), where S3 offers
it; elsewhere in the global namespace under the same name without `-an` (account and region
still make it the deployer's own in practice; `python -m infra.cloud.preflight` checks it is
free before the first `pulumi up`).
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/gpbucketnamespaces.html
"""

from __future__ import annotations

import re

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$")
# "available in all AWS Regions except Middle East (Bahrain) and Middle East (UAE)".
NO_ACCOUNT_REGIONAL_NAMESPACE = frozenset({"me-south-1", "me-central-1"})


def bucket_namespace(region: str) -> str:
    """`account-regional` where S3 offers it in `region`, else `global`."""
    return "global" if region in NO_ACCOUNT_REGIONAL_NAMESPACE else "account-regional"


def bucket_name(prefix: str, logical: str, account_id: str, region: str) -> str:
    """The name of a stage's bucket: unique to the account, region and stage.

    Raises
    ------
    ValueError: an account id that is not 12 digits, a region that is not a region code, or a
        name outside S3's rules (3-63 lowercase letters, digits and hyphens).
    """
    if not ACCOUNT_ID.match(account_id):
        raise ValueError(f"account id {account_id!r} must be 12 digits")
    if not REGION.match(region):
        raise ValueError(f"region {region!r} is not an AWS region code")
    suffix = "-an" if bucket_namespace(region) == "account-regional" else ""
    name = f"{prefix}-{logical}-{account_id}-{region}{suffix}"
    if not BUCKET_NAME.match(name) or "--" in name:
        raise ValueError(f"bucket name {name!r} breaks S3's naming rules")
    return name
