"""``baton policy validate FILE...``, ``baton policy diff A B`` and ``baton policy push FILE``: check a policy
before it ships, say in plain words what a new one changes, and put it into the run-time parameter. The checks
are ``baton.core.policy``'s, the comparison ``baton.ops.policy_diff``'s, the parameter's rules
``baton.ops.policy_push``'s; this module only reads and prints."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baton.core.errors import ConfigurationError
from baton.core.policy import Policy, PolicyCheck, check_policy, load_policy
from baton.local.commands.common import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, UsageError
from baton.names import POLICY_PARAMETER

if TYPE_CHECKING:
    from baton.ops.policy_diff import PolicyDiff
    from baton.ops.policy_push import PushPlan

NO_DECISION_CHANGES = "no changes in what is decided"


def register(sub: Any) -> None:
    parser = sub.add_parser("policy", help="check a policy file, compare two, or push one to the stack")
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

    push = actions.add_parser("push", help="validate a policy, show what it changes, and put it in force")
    push.add_argument("file", metavar="FILE", help="policy YAML (or JSON)")
    push.add_argument(
        "--parameter", default=POLICY_PARAMETER, metavar="NAME", help=f"SSM parameter (default {POLICY_PARAMETER})"
    )
    push.add_argument("--dry-run", action="store_true", help="show what the push would change, and change nothing")
    push.set_defaults(func=run_push)


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


def print_diff(before: str, after: str, result: PolicyDiff) -> None:
    """The changes as ``policy diff`` prints them: a head line naming both sides, then one line per change."""
    print(f"{before} ({result.before_tag}) -> {after} ({result.after_tag})")
    for change in result.changes:
        print(change.text)
    if result.decides_alike:
        print(NO_DECISION_CHANGES)


def run_diff(args: argparse.Namespace) -> int:
    from baton.ops.policy_diff import compare

    before, after = read_policy(args.before), read_policy(args.after)  # errors: exit 2 with the message (cli.main)
    result = compare(before, after)
    if args.json:
        document = result.as_json()
        document["before"] = {"file": args.before, "policy": result.before_tag}
        document["after"] = {"file": args.after, "policy": result.after_tag}
        print(json.dumps(document, indent=2))
        return EXIT_OK
    print_diff(args.before, args.after, result)
    return EXIT_OK


def run_push(args: argparse.Namespace) -> int:
    from baton.ops.policy_push import plan_push, read_live, ssm_client

    check = check_policy(read_text(args.file), args.file)
    print_problems(args.file, check)
    if check.policy is None:
        raise UsageError(f"{args.file} is not a valid policy: nothing pushed")
    try:
        ssm = ssm_client()
        plan = plan_push(args.parameter, check.policy, read_live(ssm, args.parameter), args.file)
        show_push(plan, args.file)
        return write_push(ssm, plan, args)
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from None


def write_push(ssm: Any, plan: PushPlan, args: argparse.Namespace) -> int:
    """Write the plan's new version, unless the parameter holds the policy already or this is a dry run."""
    from baton.ops.policy_push import push

    if plan.live is not None and plan.changes_nothing:
        print(f"nothing pushed: {plan.parameter} version {plan.live.version} holds this policy already")
        return EXIT_OK
    if plan.tier_grows:
        print(
            f"the policy is {len(plan.document.encode())} bytes as JSON, more than a standard parameter holds: "
            f"{plan.parameter} becomes advanced (charged by AWS; SSM never makes it standard again)"
        )
    tier = f"{plan.tier.lower()} tier"
    if args.dry_run:
        print(
            f"dry run: nothing pushed; the push would write {plan.parameter} version {plan.next_version}, "
            f"label {plan.label} ({tier})"
        )
        return EXIT_OK
    description = f"Baton marketing policy {plan.policy.tag} from {Path(args.file).name} (JSON, baton policy push)"
    version = push(ssm, plan, description)
    print(f"pushed {args.file} to {plan.parameter}: version {version}, label {plan.label} ({tier})")
    return EXIT_OK


def show_push(plan: PushPlan, path: str) -> None:
    """What the push changes: the diff from the live policy as ``policy diff`` prints it; when the parameter is
    absent or holds no valid policy, a head line that says so (and, on stderr, what is wrong with the live value)."""
    from baton.ops.policy_diff import compare

    live = f"ssm:{plan.parameter}"
    if plan.live_check is None:
        print(f"{live} (absent: the push creates it) -> {path} ({plan.policy.tag})")
    elif plan.live_check.policy is None:
        print(
            f"{live}: the live value is not a valid policy; the functions keep the last good policy they read, "
            "and one that has read none fails:",
            file=sys.stderr,
        )
        print_problems(live, plan.live_check)
        print(f"{live} (an invalid live value) -> {path} ({plan.policy.tag})")
    else:
        print_diff(live, path, compare(plan.live_check.policy, plan.policy))
