"""Observability: alarms to the operators' email and a dashboard of the stage.

Alarms: any partner DLQ not empty (one Metrics Insights query over the partner prefix, so
partners added by the reconciler are covered without a deploy), any stage DLQ not empty,
the partner API's 5xx rate, the console's 5xx responses, reconciler errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

import pulumi
import pulumi_aws as aws

from infra.spec import StageSpec

PERIOD_SECONDS = 300
# 5xx above 1 % of requests for 15 minutes: a broken deploy or dependency, not one bad call.
API_5XX_PERCENT = 1.0
API_5XX_PERIODS = 3


def partner_dlq_query(spec: StageSpec) -> str:
    """Metrics Insights: the deepest partner DLQ of the stage (one time series)."""
    return ('SELECT MAX(ApproximateNumberOfMessagesVisible) FROM SCHEMA("AWS/SQS", QueueName) '
            f"WHERE QueueName LIKE '{spec.partner_resource_prefix}%'")


def api_5xx_rate_queries(api_name: str, stage: str) -> list[dict[str, Any]]:
    """Metric math: 5xx responses as a percentage of the partner API's requests."""
    def metric(query_id: str, metric_name: str) -> dict[str, Any]:
        return {"id": query_id, "return_data": False, "metric": {
            "namespace": "AWS/ApiGateway", "metric_name": metric_name, "stat": "Sum",
            "period": PERIOD_SECONDS, "dimensions": {"ApiName": api_name, "Stage": stage}}}
    return [
        metric("errors", "5XXError"),
        metric("requests", "Count"),
        {"id": "rate", "return_data": True, "label": "5xx %",
         "expression": "IF(requests > 0, 100 * errors / requests, 0)"},
    ]


@dataclass
class ObservabilityArgs:
    """What is watched, and who is told."""

    spec: StageSpec
    region: str
    alarm_email: str
    topics_key_arn: pulumi.Input[str]
    partner_api_name: str
    partner_api_stage: str
    console_api_id: pulumi.Input[str]
    queue_names: Mapping[str, pulumi.Input[str]]
    function_names: Mapping[str, str]


class Observability(pulumi.ComponentResource):
    """The alarm topic (KMS), its email subscription, the alarms and the dashboard."""

    topic: aws.sns.Topic
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    dashboard: aws.cloudwatch.Dashboard

    def __init__(self, name: str, args: ObservabilityArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        spec = args.spec
        self.topic = aws.sns.Topic(f"{name}-alarms", name=f"{spec.prefix}-alarms",
                                   kms_master_key_id=args.topics_key_arn, opts=child)
        # The recipient confirms the subscription from the first email (SNS requires it).
        self.subscription = aws.sns.TopicSubscription(
            f"{name}-alarm-email", topic=self.topic.arn, protocol="email",
            endpoint=args.alarm_email, opts=child)
        actions = [self.topic.arn]

        def alarm(key: str, description: str, **settings: Any) -> aws.cloudwatch.MetricAlarm:
            return aws.cloudwatch.MetricAlarm(
                f"{name}-{key}", name=f"{spec.prefix}-{key}", alarm_description=description,
                alarm_actions=actions, ok_actions=actions, opts=child, **settings)

        self.alarms = {
            "partner-dlq": alarm(
                "partner-dlq-not-empty",
                "A partner environment's deliveries are dead-lettering: see the console's "
                "delivery health and the partner's DLQ",
                comparison_operator="GreaterThanThreshold", threshold=0,
                evaluation_periods=1, treat_missing_data="notBreaching",
                metric_queries=[aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="deepest", expression=partner_dlq_query(spec), period=PERIOD_SECONDS,
                    return_data=True, label="Deepest partner DLQ")]),
            "partner-api-5xx": alarm(
                "partner-api-5xx-rate",
                f"Partner API 5xx above {API_5XX_PERCENT}% of requests",
                comparison_operator="GreaterThanThreshold", threshold=API_5XX_PERCENT,
                evaluation_periods=API_5XX_PERIODS, treat_missing_data="notBreaching",
                metric_queries=[_query(q) for q in api_5xx_rate_queries(
                    args.partner_api_name, args.partner_api_stage)]),
            "console-5xx": alarm(
                "console-5xx",
                "The console answered 5xx",
                comparison_operator="GreaterThanThreshold", threshold=0,
                evaluation_periods=API_5XX_PERIODS, datapoints_to_alarm=2,
                treat_missing_data="notBreaching", namespace="AWS/ApiGateway",
                metric_name="5xx", statistic="Sum", period=PERIOD_SECONDS,
                dimensions={"ApiId": args.console_api_id, "Stage": "$default"}),
            "reconciler-errors": alarm(
                "reconciler-errors",
                "The reconciler failed: partners' routing may be stale",
                comparison_operator="GreaterThanThreshold", threshold=0,
                evaluation_periods=1, treat_missing_data="notBreaching",
                namespace="AWS/Lambda", metric_name="Errors", statistic="Sum",
                period=PERIOD_SECONDS,
                dimensions={"FunctionName": args.function_names["reconciler"]}),
        }
        for logical, queue_name in args.queue_names.items():
            self.alarms[f"{logical}-not-empty"] = alarm(
                f"{logical.replace('_', '-')}-not-empty",
                f"Messages in {logical}: events the stage failed to deliver",
                comparison_operator="GreaterThanThreshold", threshold=0,
                evaluation_periods=1, treat_missing_data="notBreaching",
                namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible",
                statistic="Maximum", period=PERIOD_SECONDS,
                dimensions={"QueueName": queue_name})
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=spec.prefix,
            dashboard_body=pulumi.Output.from_input(args.console_api_id).apply(
                lambda console_api_id: json.dumps(dashboard_body(args, console_api_id))),
            opts=child)
        self.register_outputs({"alarm_topic": self.topic.arn,
                               "dashboard": self.dashboard.dashboard_name})


def _query(query: Mapping[str, Any]) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    metric = query.get("metric")
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query["id"], return_data=query["return_data"], label=query.get("label"),
        expression=query.get("expression"),
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(**metric) if metric else None)


def dashboard_body(args: ObservabilityArgs, console_api_id: str) -> dict[str, Any]:
    """The stage's dashboard: APIs, functions, bus deliveries, dead letters."""
    spec, region = args.spec, args.region
    functions = sorted(args.function_names.values())

    def widget(title: str, metrics: list[Any], x: int, y: int, **extra: Any) -> dict[str, Any]:
        return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
                "properties": {"title": title, "region": region, "metrics": metrics,
                               "period": PERIOD_SECONDS, "view": "timeSeries", **extra}}

    api = ["AWS/ApiGateway"]
    dims = ["ApiName", args.partner_api_name, "Stage", args.partner_api_stage]
    return {"widgets": [
        widget("Partner API requests and errors", [
            [*api, "Count", *dims, {"stat": "Sum"}],
            [*api, "4XXError", *dims, {"stat": "Sum"}],
            [*api, "5XXError", *dims, {"stat": "Sum"}],
        ], 0, 0),
        widget("Partner API latency (p99)", [
            [*api, "Latency", *dims, {"stat": "p99"}],
            [*api, "IntegrationLatency", *dims, {"stat": "p99"}],
        ], 12, 0),
        widget("Function errors", [["AWS/Lambda", "Errors", "FunctionName", f, {"stat": "Sum"}]
                                   for f in functions], 0, 6),
        widget("Function duration (p99)", [
            ["AWS/Lambda", "Duration", "FunctionName", f, {"stat": "p99"}] for f in functions],
            12, 6),
        widget("Deepest partner DLQ", [[{"expression": partner_dlq_query(spec),
                                         "label": "messages", "id": "dlq"}]], 0, 12),
        widget("Partner deliveries (rules on the bus)", [[{
            "expression": f"SEARCH('{{AWS/Events,EventBusName,RuleName}} "
                          f"EventBusName=\"{spec.bus_name}\" "
                          "MetricName=\"FailedInvocations\"', 'Sum', 300)",
            "label": "failed", "id": "failed"}]], 12, 12),
        widget("Console", [["AWS/ApiGateway", "Count", "ApiId", console_api_id,
                            "Stage", "$default", {"stat": "Sum"}],
                           ["AWS/ApiGateway", "5xx", "ApiId", console_api_id,
                            "Stage", "$default", {"stat": "Sum"}]], 0, 18),
    ]}
