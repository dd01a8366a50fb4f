"""The REQUEST authorizer Lambda: API key to client id."""
