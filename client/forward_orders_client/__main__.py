"""``python -m forward_orders_client`` is the ``forward-orders`` command."""

import sys

from forward_orders_client.cli import main

sys.exit(main())
