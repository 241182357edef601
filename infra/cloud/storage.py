"""Storage: the stage's DynamoDB tables, S3 buckets and dead-letter queues, from the spec."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.cloud.documents import tls_only_bucket_policy
from infra.spec import BucketSpec, StageSpec, TableSpec

# Multipart uploads that never complete still cost storage; a week is plenty for a retry.
ABORT_MULTIPART_AFTER_DAYS = 7
# Old versions of a replaced document stay restorable for a month.
NONCURRENT_VERSION_DAYS = 30


@dataclass
class StorageArgs:
    """What Storage needs: the stage spec and how long the data lake stays in S3 Standard."""

    spec: StageSpec
    datalake_transition_days: int = 90
    protect_data: bool = False


class Storage(pulumi.ComponentResource):
    """Tables (on-demand, encrypted, PITR, streams/TTL per spec), buckets and queues."""

    tables: dict[str, aws.dynamodb.Table]
    buckets: dict[str, aws.s3.Bucket]
    queues: dict[str, aws.sqs.Queue]

    def __init__(self, name: str, args: StorageArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:Storage", name, None, opts)
        self._args = args
        child = pulumi.ResourceOptions(parent=self, protect=args.protect_data)
        self.tables = {t.logical: self._table(name, t, child) for t in args.spec.tables.values()}
        self.buckets = {b.logical: self._bucket(name, b, child)
                        for b in args.spec.buckets.values()}
        self.queues = {
            q.logical: aws.sqs.Queue(
                f"{name}-{q.logical}",
                name=q.name,
                message_retention_seconds=q.retention_seconds,
                sqs_managed_sse_enabled=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for q in args.spec.queues.values()
        }
        self.register_outputs({
            "tables": {k: t.name for k, t in self.tables.items()},
            "buckets": {k: b.bucket for k, b in self.buckets.items()},
            "queues": {k: q.arn for k, q in self.queues.items()},
        })

    def _table(self, name: str, table: TableSpec,
               opts: pulumi.ResourceOptions) -> aws.dynamodb.Table:
        indexes = [
            aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name=index.name,
                key_schemas=[
                    aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                        attribute_name=attribute.name, key_type=key_type)
                    for attribute, key_type in ((index.hash_key, "HASH"),
                                                (index.range_key, "RANGE"))
                    if attribute is not None
                ],
                projection_type=index.projection_type,
                non_key_attributes=list(index.include) or None,
            )
            for index in table.indexes
        ]
        return aws.dynamodb.Table(
            f"{name}-{table.logical}",
            name=table.name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=table.hash_key.name,
            range_key=table.range_key.name if table.range_key else None,
            attributes=[aws.dynamodb.TableAttributeArgs(name=a.name, type=a.type)
                        for a in table.attributes],
            global_secondary_indexes=indexes or None,
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
            stream_enabled=bool(table.stream),
            stream_view_type=table.stream,
            ttl=(aws.dynamodb.TableTtlArgs(attribute_name=table.ttl_attribute, enabled=True)
                 if table.ttl_attribute else None),
            deletion_protection_enabled=self._args.protect_data,
            opts=opts,
        )

    def _bucket(self, name: str, bucket: BucketSpec,
                opts: pulumi.ResourceOptions) -> aws.s3.Bucket:
        prefix = f"{name}-{bucket.logical}"
        # A protected stage's buckets are never emptied by a destroy; others go with their data.
        # The name holds the account and region (infra/bucket_names.py), in the account's own
        # regional namespace where S3 has one: no other account can take it.
        created = aws.s3.Bucket(prefix, bucket=bucket.name, bucket_namespace=bucket.namespace,
                                force_destroy=not self._args.protect_data, opts=opts)
        child = pulumi.ResourceOptions(parent=self)
        aws.s3.BucketPublicAccessBlock(
            f"{prefix}-public-access",
            bucket=created.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{prefix}-ownership",
            bucket=created.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{prefix}-encryption",
            bucket=created.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms"),
                bucket_key_enabled=True,
            )],
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{prefix}-versioning",
            bucket=created.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"),
            opts=child,
        )
        aws.s3.BucketPolicy(f"{prefix}-tls-only", bucket=created.id,
                            policy=tls_only_bucket_policy(created.arn), opts=child)
        aws.s3.BucketLifecycleConfiguration(
            f"{prefix}-lifecycle",
            bucket=created.id,
            rules=self._lifecycle_rules(bucket),
            opts=child,
        )
        return created

    def _lifecycle_rules(self, bucket: BucketSpec) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
        everything = aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="")
        rules = [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="abort-incomplete-uploads",
                status="Enabled",
                filter=everything,
                abort_incomplete_multipart_upload=aws.s3.
                BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=ABORT_MULTIPART_AFTER_DAYS),
            ),
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-old-versions",
                status="Enabled",
                filter=everything,
                noncurrent_version_expiration=aws.s3.
                BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=NONCURRENT_VERSION_DAYS),
            ),
        ]
        if bucket.expire_after_days:
            rules.append(aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-objects",
                status="Enabled",
                filter=everything,
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                    days=bucket.expire_after_days),
            ))
        else:
            # The data lake keeps everything, in a cheaper class once it is rarely read.
            rules.append(aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="archive-objects",
                status="Enabled",
                filter=everything,
                transitions=[aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                    days=self._args.datalake_transition_days, storage_class="GLACIER_IR")],
            ))
        return rules
