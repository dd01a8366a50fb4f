"""How every alarm of the service is made, so that they all behave alike.

Each alarm notifies the alarm topic when it fires and when it recovers, and treats missing data as
"not breaching": a quiet night (no requests, an empty queue that stopped reporting) is not an
incident. Its description starts with the service's name, which is what an email subject shows.
"""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD


def service_alarm(
    scope: Construct,
    construct_id: str,
    metric: cloudwatch.IMetric,
    *,
    topic: sns.ITopic,
    service_name: str,
    threshold: float,
    description: str,
    comparison: cloudwatch.ComparisonOperator = AT_LEAST,
    evaluation_periods: int = 1,
    datapoints_to_alarm: int = 1,
) -> cloudwatch.Alarm:
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=f"{service_name}: {description}",
    )
    action = cloudwatch_actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    alarm.add_ok_action(action)
    return alarm
