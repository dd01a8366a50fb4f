"""Code shared by the service's Lambda functions and its tooling: table schemas, API keys, AWS clients."""
