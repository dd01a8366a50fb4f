"""cdk-nag's AwsSolutions rules, run on every synthesis, and the one way to acknowledge a finding.

The rules run as a CDK policy-validation plugin: any finding not acknowledged fails the synthesis
(``cdk synth``, ``cdk deploy`` and the tests alike). An acknowledgement names the rule (and, for
rules that report several findings, the finding) and says in a full sentence why the finding is
accepted; ``acknowledge`` refuses a reason that is not one.
"""

from __future__ import annotations

import re

from aws_cdk import Acknowledgment, Stage, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PLUGIN_NAME = "AwsSolutions"  # the prefix CDK gives the rule ids this plugin reports
_SENTENCE = re.compile(r"[A-Z0-9].{20,}[.!]")


def attach_checks(scope: Stage) -> None:
    """Run AwsSolutionsChecks over everything in ``scope`` (an App or a Stage) when it synthesizes."""
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope, verbose=True))


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Accept the finding ``rule_id`` on ``scope`` and everything under it, for ``reason``."""
    if not _SENTENCE.fullmatch(reason) or len(reason.split()) < 6:
        raise ValueError(f"the reason for acknowledging {rule_id} must be a sentence saying why: {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PLUGIN_NAME}::{rule_id}", reason=reason))
