"""Order events: the orders table's stream, read by a small function that publishes every create
or change of an order or item to a custom EventBridge bus (docs/events.md).

Pieces. The bus; the function (``functions/order_events``, packaged and deployed like the API's:
arm64, the shared layer, the ``live`` alias; no SnapStart, see ``infra.config``); an event source
mapping from the table's stream to the alias; a dead-letter queue for the batches that still fail
after the retries; three alarms on the service's topic.

The event source mapping:
- starts at the oldest record (``TRIM_HORIZON``), so nothing written between the stream's creation
  and the mapping's is lost;
- waits up to ``orderEventsBatchingWindowSeconds`` (0 by default: not at all) to fill a batch;
- hands the function up to ``BATCH_SIZE`` records of one shard, in stream order, one batch per
  shard at a time (parallelization factor 1), which keeps the changes of an item in order;
- reads the function's ``batchItemFailures`` (ReportBatchItemFailures) and retries from the first
  failed record; a batch whose invocation fails is split in two (bisect) to isolate a bad record;
- gives up on a record after ``RETRY_ATTEMPTS`` retries or once it is ``MAX_RECORD_AGE`` old, and
  then sends a description of the batch (shard, sequence numbers, not the records) to the
  dead-letter queue. The records stay readable in the stream for 24 hours, and the table itself
  always holds the current state (docs/events.md, "Replaying").

Why a function and not EventBridge Pipes (DynamoDB stream source, EventBridge bus target): an
event says which fields changed and an identical re-send says nothing, and both need the old and new
images compared field by field over an allow-list, which a Pipes filter or input transformer cannot
do. Pipes would need a Lambda enrichment step for exactly that code, and then the Pipe only adds a
second service to pay for, operate and test. With the function, PutEvents' per-entry results map
to per-record retries, and the whole path runs in-process in the tests.

Permissions, each on its one resource: ``events:PutEvents`` on the bus; reading the table's stream;
``sqs:SendMessage`` on the dead-letter queue (the mapping sends with the function's role). The one
exception is ``dynamodb:ListStreams``, which has no resource-level permissions.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.alarms import ABOVE, service_alarm
from infra.checks import acknowledge
from infra.config import (
    ORDER_EVENTS_BATCH_SIZE,
    ORDER_EVENTS_MEMORY_MB,
    ORDER_EVENTS_SNAP_START,
    ORDER_EVENTS_TIMEOUT_SECONDS,
    ServiceConfig,
)
from infra.functions import ServiceFunction, handler_of
from infra.packaging import LambdaPackaging
from order_events.settings import Settings as PublisherSettings

PACKAGE = "order_events"
HANDLER = handler_of(PACKAGE)
MEMORY_MB = ORDER_EVENTS_MEMORY_MB
TIMEOUT_SECONDS = ORDER_EVENTS_TIMEOUT_SECONDS
BATCH_SIZE = ORDER_EVENTS_BATCH_SIZE
RETRY_ATTEMPTS = 10
MAX_RECORD_AGE = Duration.hours(1)
# Alarm when the oldest record a batch holds is this old: events are late.
ITERATOR_AGE_ALARM_MS = 5 * 60 * 1000
PERIOD = Duration.minutes(5)

BUS_ACTIONS = ["events:PutEvents"]
STREAM_ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
LIST_STREAMS_ACTIONS = ["dynamodb:ListStreams"]
DEAD_LETTER_ACTIONS = ["sqs:SendMessage"]


@jsii.implements(lambda_.IEventSourceDlq)
class SendOnlyQueueDestination:
    """The mapping's on-failure destination: a queue the function's role may only send to.

    (CDK's ``SqsDlq`` also grants GetQueueAttributes and GetQueueUrl, which Lambda does not use.)
    """

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self, target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction
    ) -> lambda_.DlqDestinationConfig:
        target_handler.add_to_role_policy(
            iam.PolicyStatement(actions=DEAD_LETTER_ACTIONS, resources=[self._queue.queue_arn])
        )
        return lambda_.DlqDestinationConfig(destination=self._queue.queue_arn)


class OrderEvents(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ServiceConfig,
        packaging: LambdaPackaging,
        orders_table: dynamodb.TableV2,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        stream_arn = orders_table.table_stream_arn
        if stream_arn is None:
            raise ValueError("the orders table needs a stream for order events (infra/storage.py)")

        self.bus = events.EventBus(
            self,
            "Bus",
            event_bus_name=f"{config.stack_name}-order-events",
            description="Forward Orders: one event per create or change of an order or item",
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # The longest SQS allows: time to read what failed and replay it.
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter destination of the stream's event source mapping, "
            "so a dead-letter queue behind it would only hold the same failures once more.",
        )

        self.publisher = ServiceFunction(
            self,
            "Publisher",
            config=config,
            packaging=packaging,
            package=PACKAGE,
            description="Forward Orders order events: orders table stream to EventBridge",
            memory_mb=MEMORY_MB,
            timeout_seconds=TIMEOUT_SECONDS,
            snap_start=ORDER_EVENTS_SNAP_START,
            environment={
                PublisherSettings.variable("event_bus_name"): self.bus.event_bus_name,
                PublisherSettings.variable("event_source"): config.service_name,
            },
        )
        self.publisher.grant(BUS_ACTIONS, [self.bus.event_bus_arn])
        self.publisher.grant(STREAM_ACTIONS, [stream_arn])
        list_streams = iam.Policy(
            self,
            "ListStreams",
            statements=[iam.PolicyStatement(actions=LIST_STREAMS_ACTIONS, resources=["*"])],
            roles=[self.publisher.role],
        )
        acknowledge(
            list_streams,
            "AwsSolutions-IAM5[Resource::*]",
            "DynamoDB's ListStreams has no resource-level permissions and Lambda checks for it when "
            "it creates the stream's event source mapping; it lists stream names, never their data.",
        )

        self.mapping = lambda_.EventSourceMapping(
            self,
            "StreamMapping",
            target=self.publisher.alias,
            event_source_arn=stream_arn,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=BATCH_SIZE,
            max_batching_window=(
                Duration.seconds(config.order_events_batching_window_seconds)
                if config.order_events_batching_window_seconds
                else None
            ),
            parallelization_factor=1,
            bisect_batch_on_error=True,
            retry_attempts=RETRY_ATTEMPTS,
            max_record_age=MAX_RECORD_AGE,
            report_batch_item_failures=True,
            on_failure=SendOnlyQueueDestination(self.dead_letter_queue),
        )
        # Lambda checks the role's stream permissions when it creates the mapping.
        self.mapping.node.add_dependency(list_streams)

        function = self.publisher.function
        # Unlabelled: an alarm on a labelled metric is rendered as a metric math alarm.
        self.dead_letters = self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic="Maximum"
        )
        self.publisher_errors = function.metric_errors(period=PERIOD, statistic="Sum")
        self.iterator_age = function.metric("IteratorAge", period=PERIOD, statistic="Maximum")

        def alarm(construct_id: str, metric: cloudwatch.IMetric, **settings: Any) -> cloudwatch.Alarm:
            return service_alarm(
                self, construct_id, metric, topic=alarm_topic, service_name=config.service_name, **settings
            )

        self.alarms = [
            alarm(
                "DeadLetters",
                self.dead_letters,
                threshold=0,
                comparison=ABOVE,
                description="Order events were given up on: see the dead-letter queue (docs/events.md)",
            ),
            alarm(
                "PublisherErrors",
                self.publisher_errors,
                threshold=1,
                description="The order events function failed (an unhandled error or a timeout)",
            ),
            alarm(
                "IteratorAge",
                self.iterator_age,
                threshold=ITERATOR_AGE_ALARM_MS,
                description="Order events are running late: the stream's oldest unprocessed record "
                f"is over {ITERATOR_AGE_ALARM_MS // 60000} minutes old",
            ),
        ]
