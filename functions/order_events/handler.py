"""Lambda entry point of the order events function, invoked by the orders table's stream.

The batch is published first, in order (``publishing``); Powertools' batch processor then reports
the records that must be retried (``batchItemFailures``, with ReportBatchItemFailures on the event
source mapping) from that outcome. A failed publish is always reported that way, never raised, so
the function's Errors metric means what it says: the code failed (a bug, a timeout).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from order_events.event_bus import EventBus, events_client
from order_events.publishing import publish_changes
from order_events.settings import get_settings

logger = Logger()
# Validated as the module loads: a missing or malformed variable fails the cold start, not each request.
get_settings()
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


@cache
def event_bus() -> EventBus:
    """The EventBridge adapter, built on the first invocation and reused by every later one."""
    return EventBus(events_client(), get_settings().event_bus_name)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = [DynamoDBRecord(raw) for raw in event.get("Records") or []]
    outcome = publish_changes(
        records,
        event_bus(),
        source=get_settings().event_source,
        seconds_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )
    if outcome.failure is None:
        # Debug only: Lambda's metrics count the batches, EventBridge's the events.
        logger.debug("order events published", extra=outcome.summary())
    else:
        logger.warning("order events not all published; Lambda retries the rest", extra=outcome.summary())
    response: dict[str, Any] = dict(
        process_partial_response(
            event=event, record_handler=outcome.check, processor=processor, context=context
        )
    )
    return response
