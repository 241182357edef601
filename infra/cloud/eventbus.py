"""EventBus: the marketplace bus, its archive, the data lake feed and the schema registry."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.cloud.iam import StageRole, arn_context
from infra.cloud.schemas import REGISTRY_SCHEMA_TYPE, registry_schema, schema_name
from infra.spec import StageSpec
from partners.core.contracts import SCHEMAS

# Every event on the bus: `source` always exists and every string has the empty prefix.
CATCH_ALL_PATTERN = {"source": [{"prefix": ""}]}

# Data lake layout: one folder per detail type, then by day (Hive-style, so Athena and Glue
# partition on both without crawling). The detail type is normalised for S3 keys.
DETAIL_TYPE_QUERY = '{detail_type: (."detail-type" | ascii_downcase | gsub("[^a-z0-9]+"; "-"))}'
DATALAKE_PREFIX = ("events/detail_type=!{partitionKeyFromQuery:detail_type}/"
                   "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/")
DATALAKE_ERROR_PREFIX = ("errors/!{firehose:error-output-type}/"
                         "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/")
# Dynamic partitioning needs a buffer of at least 64 MiB.
FIREHOSE_BUFFER_MB = 64
FIREHOSE_BUFFER_SECONDS = 300
# Events older than a day are not worth retrying into the data lake: the archive has them.
DATALAKE_RETRY = {"maximum_event_age_in_seconds": 86_400, "maximum_retry_attempts": 185}


@dataclass
class EventBusArgs:
    """The spec, the data lake bucket and the dead-letter queue of the data lake target."""

    spec: StageSpec
    datalake_bucket_arn: pulumi.Input[str]
    dead_letter_arn: pulumi.Input[str]
    archive_retention_days: int
    log_retention_days: int


class EventBus(pulumi.ComponentResource):
    """Bus + archive + catch-all rule -> Firehose -> S3 data lake + schema registry."""

    bus: aws.cloudwatch.EventBus
    archive: aws.cloudwatch.EventArchive
    datalake_rule: aws.cloudwatch.EventRule
    firehose: aws.kinesis.FirehoseDeliveryStream
    registry: aws.schemas.Registry
    schemas: dict[str, aws.schemas.Schema]

    def __init__(self, name: str, args: EventBusArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:EventBus", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        spec = args.spec
        # The bus logs every step of every event (the delivery log's source: DeliveryLog).
        self.bus = aws.cloudwatch.EventBus(
            f"{name}-bus", name=spec.bus_name,
            log_config=aws.cloudwatch.EventBusLogConfigArgs(
                level=spec.delivery_log.level, include_detail=spec.delivery_log.include_detail),
            opts=child)
        self.archive = aws.cloudwatch.EventArchive(
            f"{name}-archive",
            name=spec.archive_name,
            event_source_arn=self.bus.arn,
            retention_days=args.archive_retention_days,
            description=f"Every event on {spec.bus_name}, for replays",
            opts=child,
        )
        self._datalake(name, args, child)
        self.registry = aws.schemas.Registry(
            f"{name}-registry", name=spec.bus_name,
            description="Event contracts of the marketplace bus (partners.core.contracts)",
            opts=child)
        self.schemas = {
            detail_type: aws.schemas.Schema(
                f"{name}-schema-{detail_type.lower().replace(' ', '-')}",
                name=schema_name(detail_type),
                registry_name=self.registry.name,
                type=REGISTRY_SCHEMA_TYPE,
                content=json.dumps(registry_schema(detail_type), sort_keys=True),
                description=f"{detail_type} (partners.core.contracts)",
                opts=child,
            )
            for detail_type in SCHEMAS
        }
        self.register_outputs({"bus_name": self.bus.name, "bus_arn": self.bus.arn,
                               "archive": self.archive.name,
                               "firehose": self.firehose.name})

    def _datalake(self, name: str, args: EventBusArgs, child: pulumi.ResourceOptions) -> None:
        spec = args.spec
        stream_name = spec.datalake_stream_name
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-firehose-logs", name=f"/aws/kinesisfirehose/{stream_name}",
            retention_in_days=args.log_retention_days, opts=child)
        log_stream = aws.cloudwatch.LogStream(
            f"{name}-firehose-log-stream", name="S3Delivery", log_group_name=log_group.name,
            opts=child)
        bucket = args.datalake_bucket_arn
        # Roles and statements: infra.roles (datalake_firehose, datalake_rule).
        context = arn_context(spec)
        firehose_role = StageRole(f"{name}-firehose", "datalake_firehose", spec, context,
                                  child).role
        self.firehose = aws.kinesis.FirehoseDeliveryStream(
            f"{name}-firehose",
            name=stream_name,
            destination="extended_s3",
            server_side_encryption=aws.kinesis.FirehoseDeliveryStreamServerSideEncryptionArgs(
                enabled=True, key_type="AWS_OWNED_CMK"),
            extended_s3_configuration=aws.kinesis.
            FirehoseDeliveryStreamExtendedS3ConfigurationArgs(
                role_arn=firehose_role.arn,
                bucket_arn=bucket,
                buffering_size=FIREHOSE_BUFFER_MB,
                buffering_interval=FIREHOSE_BUFFER_SECONDS,
                compression_format="GZIP",
                prefix=DATALAKE_PREFIX,
                error_output_prefix=DATALAKE_ERROR_PREFIX,
                dynamic_partitioning_configuration=aws.kinesis.
                FirehoseDeliveryStreamExtendedS3ConfigurationDynamicPartitioningConfigurationArgs(
                    enabled=True),
                processing_configuration=aws.kinesis.
                FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationArgs(
                    enabled=True,
                    processors=[
                        _processor("MetadataExtraction", {
                            "JsonParsingEngine": "JQ-1.6",
                            "MetadataExtractionQuery": DETAIL_TYPE_QUERY,
                        }),
                        _processor("AppendDelimiterToRecord", {"Delimiter": "\\n"}),
                    ],
                ),
                cloudwatch_logging_options=aws.kinesis.
                FirehoseDeliveryStreamExtendedS3ConfigurationCloudwatchLoggingOptionsArgs(
                    enabled=True, log_group_name=log_group.name,
                    log_stream_name=log_stream.name),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_stream]),
        )
        self.datalake_rule = aws.cloudwatch.EventRule(
            f"{name}-datalake-rule",
            name=spec.datalake_rule_name,
            event_bus_name=self.bus.name,
            description="Every event on the bus into the data lake",
            event_pattern=json.dumps(CATCH_ALL_PATTERN),
            opts=child)
        rule_role = StageRole(f"{name}-datalake-rule", "datalake_rule", spec, context,
                              child).role
        self.datalake_target = aws.cloudwatch.EventTarget(
            f"{name}-datalake-target",
            rule=self.datalake_rule.name,
            event_bus_name=self.bus.name,
            target_id="datalake",
            arn=self.firehose.arn,
            role_arn=rule_role.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(**DATALAKE_RETRY),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(
                arn=args.dead_letter_arn),
            opts=child)


def _processor(kind: str, parameters: dict[str, str]) -> (
        aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorArgs):
    args = aws.kinesis
    return args.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorArgs(
        type=kind,
        parameters=[
            args.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorParameterArgs(
                parameter_name=key, parameter_value=value)
            for key, value in parameters.items()
        ],
    )
