"""Every test here shares one boto3 session across moto mocks (speed only: tests/factories.py)."""

from tests.factories import reuse_boto3_session  # noqa: F401  (autouse)
