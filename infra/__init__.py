"""The AWS CDK definition of the service: one Stack built from Constructs grouped by concern.

- ``config``: the settings read from CDK context (``cdk.json`` or ``-c key=value``), validated.
- ``packaging``: the Lambda code and dependency layer, built locally without Docker.
- ``storage``: the DynamoDB tables, created from the key schemas in ``common.tables``.
- ``functions``: one Lambda function with its role, log group, published version and alias.
- ``api``: the REST API, its REQUEST authorizer and its gateway responses.
- ``monitoring``: the alarm topic, the alarms and the dashboard.
- ``events``: the order events: the orders table's stream, its function, the bus, the dead-letter
  queue and their alarms.
- ``checks``: cdk-nag's AwsSolutions rules and the one way to acknowledge a finding.
- ``stack``: the deployment unit that puts them together.
"""
