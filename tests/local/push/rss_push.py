"""`forward-orders push` in this process, then its peak resident memory (KiB) on stderr's last line.

VmHWM, not getrusage: ru_maxrss survives exec, so a child would report its parent's peak."""

import sys
from pathlib import Path

from forward_orders_client.cli import main

status = main(sys.argv[1:])
peak = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
print(f"peak_rss_kib {peak.split()[1]}", file=sys.stderr)
sys.exit(status)
