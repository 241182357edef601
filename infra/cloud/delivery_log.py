"""DeliveryLog: the bus's own logs -> CloudWatch Logs -> subscription filter -> indexer.

The marketplace bus logs every processing step (its `LogConfig`, set in `eventbus.py` from
`spec.delivery_log`). CloudWatch vended-log delivery carries the records to a log group:
a delivery source (the bus, log type `TRACE_LOGS`), a delivery destination (the log group)
and the delivery pairing them, with a log group resource policy that lets the delivery
service write there. The log group's subscription filter hands the records about API
destination targets to the delivery indexer function (CloudWatch Logs invokes it
asynchronously with batches; AWS documentation: "Configuring logs for event buses",
eb-event-bus-logs; "Enable logging from AWS services", AWS-logs-and-resource-policy;
"Using CloudWatch Logs subscription filters", SubscriptionFilters).

Why CloudWatch Logs and not Firehose: records reach the indexer within seconds (the console
shows a delivery while it is retrying), the subscription filter drops the records no
partner delivery needs before any invocation, and nothing else (no S3 objects, no buffer
sizing, no second function) has to run. Firehose's vended-log price per GB is lower; the
figures are in README "Delivery log" and `bench/e2e.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.spec import DeliveryLogSpec

DELIVERY_SERVICE = "delivery.logs.amazonaws.com"
OUTPUT_FORMAT = "json"


def delivery_resource_policy(log: DeliveryLogSpec, account_id: str, region: str,
                             partition: str = "aws") -> str:
    """The log group resource policy vended-log delivery needs to write to the group.

    AWS-logs-and-resource-policy, "Logs sent to CloudWatch Logs": the delivery service may
    create streams and put events in the group, for deliveries of this account only.
    """
    group = f"arn:{partition}:logs:{region}:{account_id}:log-group:{log.log_group}:log-stream:*"
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "VendedBusLogs",
            "Effect": "Allow",
            "Principal": {"Service": DELIVERY_SERVICE},
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": group,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account_id}:*"},
            },
        }],
    }, sort_keys=True)


@dataclass
class DeliveryLogArgs:
    """The spec's delivery log, the bus (with its LogConfig) and the indexer function."""

    log: DeliveryLogSpec
    bus_arn: pulumi.Input[str]
    indexer: aws.lambda_.Function
    account_id: pulumi.Input[str]
    region: str
    # The stack's `logRetentionDays` (the embedded stack keeps `log.retention_days`).
    retention_days: int


class DeliveryLog(pulumi.ComponentResource):
    """Log group, vended delivery bus -> group, subscription filter group -> indexer."""

    log_group: aws.cloudwatch.LogGroup
    source: aws.cloudwatch.LogDeliverySource
    destination: aws.cloudwatch.LogDeliveryDestination
    delivery: aws.cloudwatch.LogDelivery
    subscription: aws.cloudwatch.LogSubscriptionFilter

    def __init__(self, name: str, args: DeliveryLogArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:DeliveryLog", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        log = args.log
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-group", name=log.log_group, retention_in_days=args.retention_days,
            opts=child)
        partition = aws.get_partition_output().partition
        self.resource_policy = aws.cloudwatch.LogResourcePolicy(
            f"{name}-delivery-policy", policy_name=f"{log.delivery_source}-delivery",
            policy_document=pulumi.Output.all(args.account_id, partition).apply(
                lambda values: delivery_resource_policy(log, values[0], args.region,
                                                        values[1])),
            opts=child)
        self.source = aws.cloudwatch.LogDeliverySource(
            f"{name}-source", name=log.delivery_source, log_type=log.log_type,
            resource_arn=args.bus_arn, opts=child)
        self.destination = aws.cloudwatch.LogDeliveryDestination(
            f"{name}-destination", name=log.delivery_destination, output_format=OUTPUT_FORMAT,
            delivery_destination_configuration=aws.cloudwatch.
            LogDeliveryDestinationDeliveryDestinationConfigurationArgs(
                destination_resource_arn=self.log_group.arn),
            opts=child)
        self.delivery = aws.cloudwatch.LogDelivery(
            f"{name}-delivery", delivery_source_name=self.source.name,
            delivery_destination_arn=self.destination.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.resource_policy]))
        # CloudWatch Logs may invoke the indexer for this log group only.
        self.permission = aws.lambda_.Permission(
            f"{name}-indexer-permission", action="lambda:InvokeFunction",
            function=args.indexer.name, principal="logs.amazonaws.com",
            source_arn=pulumi.Output.concat(self.log_group.arn, ":*"),
            source_account=args.account_id, opts=child)
        self.subscription = aws.cloudwatch.LogSubscriptionFilter(
            f"{name}-subscription", name=log.filter_name, log_group=self.log_group.name,
            filter_pattern=log.filter_pattern, destination_arn=args.indexer.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.permission]))
        self.register_outputs({"log_group": self.log_group.name,
                               "delivery": self.delivery.id})
