"""The performance benchmark of the API function: ``make bench`` (full) or ``make bench QUICK=1``.

Every number is a ratio measured in one run against a floor measured in the same run, so that the
speed of the machine (and its neighbours) cancels out. See docs/performance.md.
"""
