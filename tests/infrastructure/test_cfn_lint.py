"""cfn-lint on the synthesized template: no errors, and no warnings except the ones listed here."""

from __future__ import annotations

from cfnlint.api import ManualArgs, lint_file

from tests.infrastructure.synthesis import Synthesis

# Warnings accepted, each with the reason.
ACCEPTED_WARNINGS = {
    # CDK makes each function depend explicitly on its role *and* the role's policy, so the function
    # is never created before it may write its logs; the role half is redundant with the GetAtt.
    "W3005",
}


def test_template_passes_cfn_lint(synthesized: Synthesis) -> None:
    matches = lint_file(synthesized.template_file, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    problems = [f"{m.rule.id} {m.message} ({m.path_string})" for m in matches]
    unexpected = [p for p, m in zip(problems, matches, strict=True) if m.rule.id not in ACCEPTED_WARNINGS]
    assert unexpected == []
    assert all(m.rule.id.startswith("W") for m in matches)
