"""``python -m forward_orders_cli`` is the ``forward-orders`` command."""

import sys

from forward_orders_cli.main import main

sys.exit(main())
