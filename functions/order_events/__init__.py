"""The order events function: every create or change of an order or item, read from the orders
table's DynamoDB stream, published as one event on the service's EventBridge bus (docs/events.md).

- ``changes``: a stream record to the change it describes, or to nothing (pure functions);
- ``publishing``: a batch of records to PutEvents calls, and which records must be retried;
- ``event_bus``: the one module that calls EventBridge;
- ``settings``: the environment, validated once;
- ``handler``: the Lambda entry point, Powertools' batch processing around the above.
"""
