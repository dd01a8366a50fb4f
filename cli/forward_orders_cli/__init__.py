"""``forward-orders``: the developer's command line (local server, client keys). Never shipped in a
Lambda bundle: it depends on the ``local`` extra (werkzeug) and on dynalite (package.json)."""
