"""Resources the program refers to but does not create: the Powertools layer, and the bucket
names it will create.

- https://docs.aws.amazon.com/lambda/latest/api/API_GetLayerVersionByArn.html
- https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html ("If the bucket does not
  exist or you do not have permission to access it, the HEAD request returns a generic 400 Bad
  Request, 403 Forbidden or 404 Not Found code")
- https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
"""

from __future__ import annotations

from typing import Iterable

from infra.cloud.preflight.results import (
    AWS_FAILURES,
    Check,
    Clients,
    failed,
    passed,
    unchecked,
)
from infra.spec import BucketSpec
from partners.core.aws import error_code

POWERTOOLS_LAYERS = "https://docs.powertools.aws.dev/lambda/python/latest/#lambda-layer"


def powertools_layer(clients: Clients, layer_arn: str, region: str) -> Check:
    """The layer version exists in the stage's region and this account may use it."""
    what = "Powertools layer"
    if f":{region}:" not in layer_arn:
        return failed(what, f"{layer_arn} is not in {region}",
                      f"use the layer ARN for {region} ({POWERTOOLS_LAYERS})")
    try:
        layer = clients("lambda").get_layer_version_by_arn(Arn=layer_arn)
    except AWS_FAILURES as error:
        if error_code(error) in ("ResourceNotFoundException", "AccessDeniedException"):
            return failed(what, f"{layer_arn} cannot be used here ({error_code(error)})",
                          f"set powertoolsLayerArn to the layer for {region} "
                          f"({POWERTOOLS_LAYERS})")
        return unchecked(what, error, f"aws lambda get-layer-version-by-arn --arn {layer_arn}")
    runtimes = ", ".join(layer.get("CompatibleRuntimes") or []) or "any runtime"
    return passed(what, f"version {layer.get('Version')} ({runtimes})")


def bucket_names(clients: Clients, buckets: Iterable[BucketSpec]) -> list[Check]:
    """Each bucket name is this account's already (a later run), or free: not held by
    another account (HeadBucket 403, or 200 on a bucket outside this account's list)."""
    s3 = clients("s3")
    try:
        own = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    except AWS_FAILURES as error:
        return [unchecked("S3 bucket names", error, "aws s3api list-buckets")]
    checks = []
    for bucket in buckets:
        what = f"S3 bucket {bucket.name}"
        if bucket.name in own:
            checks.append(passed(what, "already this account's (an earlier pulumi up)"))
            continue
        try:
            s3.head_bucket(Bucket=bucket.name)
        except AWS_FAILURES as error:
            status = getattr(error, "response", {}).get("ResponseMetadata", {}).get(
                "HTTPStatusCode")
            if status == 404 or error_code(error) in ("404", "NoSuchBucket"):
                checks.append(passed(what, f"free ({bucket.namespace} namespace)"))
                continue
            if status == 403 or error_code(error) == "403":
                checks.append(failed(what, "held by another account (HeadBucket 403)",
                                     _rename_fix(bucket)))
                continue
            checks.append(unchecked(what, error, f"aws s3api head-bucket --bucket {bucket.name}"))
            continue
        checks.append(failed(what, "exists and is not this account's (HeadBucket 200)",
                             _rename_fix(bucket)))
    return checks


def _rename_fix(bucket: BucketSpec) -> str:
    return ("the name holds this account and region, so someone chose it on purpose: deploy "
            "in the account-regional namespace (infra/bucket_names.py), or in another region, "
            f"or delete the other bucket if it is yours in another account ({bucket.name})")
