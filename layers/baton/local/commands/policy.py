"""``baton policy validate FILE...`` and ``baton policy diff A B``: check a policy before it ships, and say in
plain words what a new one changes. The checks are ``baton.policy``'s, the comparison ``baton.policy_diff``'s;
this module only reads and prints."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from baton.local.commands.common import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, UsageError
from baton.policy import Policy, PolicyCheck, check_policy, load_policy

NO_DECISION_CHANGES = "no changes in what is decided"


def register(sub: Any) -> None:
    parser = sub.add_parser("policy", help="check a policy file, or compare two")
    actions = parser.add_subparsers(dest="action", required=True)

    validate = actions.add_parser(
        "validate", help="check policy files: exit 0 if all are valid, 1 if any is not, 2 if one cannot be read"
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="policy YAML (or JSON)")
    validate.add_argument("--strict", action="store_true", help="warnings are errors (a category not listed)")
    validate.set_defaults(func=run_validate)

    diff = actions.add_parser("diff", help="what changes from policy A to policy B, in plain words")
    diff.add_argument("before", metavar="A", help="the policy in force (YAML or JSON)")
    diff.add_argument("after", metavar="B", help="the policy to compare it with")
    diff.add_argument("--json", action="store_true", help="print the changes as JSON")
    diff.set_defaults(func=run_diff)


def read_text(path: str) -> str:
    """The text of ``path``; UsageError (exit 2) if the file cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_policy(path: str) -> Policy:
    """The policy in ``path``. UsageError if the file cannot be read; PolicyError if it is not a valid policy."""
    return load_policy(read_text(path), path)


def summary(path: str, policy: Policy) -> str:
    return f"{path}: ok, {policy.tag}, {len(policy.caps)} caps, {len(policy.categories)} categories"


def print_problems(source: str, check: PolicyCheck, *, strict: bool = False) -> None:
    """Every error and warning on stderr, one line each in the order of the text (errors first for JSON, which
    has no lines); under ``strict`` a warning is printed as the error it then is."""
    lines = [(problem.line or 0, problem.located(source)) for problem in check.errors]
    lines += [(problem.line or 0, problem.located(source, "" if strict else "warning")) for problem in check.warnings]
    for _, line in sorted(lines, key=lambda item: item[0]):
        print(line, file=sys.stderr)


def run_validate(args: argparse.Namespace) -> int:
    status = EXIT_OK
    for path in args.files:
        try:
            text = read_text(path)
        except UsageError as exc:
            print(f"baton policy validate: {exc}", file=sys.stderr)
            status = EXIT_UNUSABLE
            continue
        check = check_policy(text, path)
        print_problems(path, check, strict=args.strict)
        if check.policy is None or (args.strict and check.warnings):
            status = max(status, EXIT_FAILED)
        else:
            print(summary(path, check.policy))
    return status


def run_diff(args: argparse.Namespace) -> int:
    from baton.policy_diff import compare

    before, after = read_policy(args.before), read_policy(args.after)  # errors: exit 2 with the message (cli.main)
    result = compare(before, after)
    if args.json:
        document = result.as_json()
        document["before"] = {"file": args.before, "policy": result.before_tag}
        document["after"] = {"file": args.after, "policy": result.after_tag}
        print(json.dumps(document, indent=2))
        return EXIT_OK
    print(f"{args.before} ({result.before_tag}) -> {args.after} ({result.after_tag})")
    for change in result.changes:
        print(change.text)
    if result.decides_alike:
        print(NO_DECISION_CHANGES)
    return EXIT_OK
