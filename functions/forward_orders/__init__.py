"""The Forward Orders API Lambda: POST /forward_orders (upsert) and GET /forward_orders/{identifier}."""
