"""``baton templates validate DIR``, ``push DIR``, ``diff DIR`` and ``preview NAME``: check a template set, put it
into the template store, say what a push would change, and show one rendered message. The checks are
``baton.app.templates``'s, the store's rules ``baton.ops.templates_push``'s; this module only reads and prints."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from baton.app.templates import SHIPPED, TemplateSet, check, read_directory
from baton.core.errors import ConfigurationError, InvalidRequest
from baton.local.commands.common import EXIT_OK, UsageError
from baton.names import STACK_NAME


def register(sub: Any) -> None:
    parser = sub.add_parser("templates", help="check a template set, push it to the store, diff it, preview one")
    actions = parser.add_subparsers(dest="action", required=True)

    validate = actions.add_parser("validate", help="check a set: exit 0 if it is good, 2 listing every problem")
    validate.add_argument("dir", metavar="DIR", help="a set: DIR/<name>/<locale>/<form>, DIR/<name>/samples/*.json")
    validate.set_defaults(func=run_validate)

    for name, what in (
        ("push", "validate a set, upload it, then switch the manifest"),
        ("diff", "what a push would change"),
    ):
        action = actions.add_parser(name, help=what)
        action.add_argument("dir", metavar="DIR", help="the template set")
        where = action.add_mutually_exclusive_group()
        where.add_argument("--bucket", metavar="NAME", help="the template bucket")
        where.add_argument("--table", metavar="NAME", help="the bucket of the deployment of this ledger table")
        where.add_argument("--stack", default=STACK_NAME, help=f"the bucket of this stack (default {STACK_NAME})")
        action.set_defaults(func=run_push if name == "push" else run_diff)

    preview = actions.add_parser("preview", help="print one template rendered with the data of a file")
    preview.add_argument("name", metavar="NAME", help="the template")
    preview.add_argument("--data", required=True, metavar="FILE", help="the template data (a JSON object)")
    preview.add_argument("--locale", help="the customer's locale (fr-CA falls back to fr, then default)")
    preview.add_argument("--channel", choices=("email", "sms", "push"), default="email")
    preview.add_argument("--templates", metavar="DIR", default=str(SHIPPED), help="the set (default: the shipped set)")
    preview.set_defaults(func=run_preview)


def checked(directory: str) -> TemplateSet:
    """The set in ``directory``, every problem on stderr as ``FILE:LINE: message``; UsageError (exit 2) if it has
    any."""
    root = Path(directory)
    if not root.is_dir():
        raise UsageError(f"{directory} is not a directory")
    templates = read_directory(root)
    if not templates.locales:
        raise UsageError(f"{directory} holds no templates (<name>/<locale>/<form>)")
    problems = check(templates)
    for problem in problems:
        place = f"{root / problem.field}:{problem.line}" if problem.line else str(root / problem.field)
        print(f"{place}: {problem.message}", file=sys.stderr)
    if problems:
        raise UsageError(f"{directory}: {len(problems)} problem(s), nothing changed")
    return templates


def run_validate(args: argparse.Namespace) -> int:
    templates = checked(args.dir)
    locales = sum(len(found) for found in templates.locales.values())
    samples = sum(1 for name in templates.locales for _ in templates.samples(name))
    print(
        f"{args.dir}: ok, version {templates.version}, {len(templates.locales)} templates, {locales} locales, "
        f"{samples} samples rendered"
    )
    return EXIT_OK


def _store(args: argparse.Namespace) -> tuple[Any, str]:
    from baton.ops.templates_push import bucket_of_stack, s3_client, stack_of_table

    if args.bucket:
        return s3_client(), args.bucket
    return s3_client(), bucket_of_stack(stack_of_table(args.table) if args.table else args.stack)


def run_diff(args: argparse.Namespace) -> int:
    from baton.ops.templates_push import compare, read_live

    templates = checked(args.dir)
    try:
        s3, bucket = _store(args)
        live = read_live(s3, bucket)
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from None
    for line in compare(live.templates if live else None, templates).lines():
        print(line)
    return EXIT_OK


def run_push(args: argparse.Namespace) -> int:
    from baton.ops.templates_push import push, read_live

    templates = checked(args.dir)
    try:
        s3, bucket = _store(args)
        diff = push(s3, bucket, templates, read_live(s3, bucket))
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from None
    for line in diff.lines():
        print(line)
    if diff.empty:
        print(f"nothing pushed: s3://{bucket} holds version {templates.version} already")
    else:
        print(f"pushed {args.dir} to s3://{bucket}: version {templates.version}")
    return EXIT_OK


def run_preview(args: argparse.Namespace) -> int:
    from baton.app.render import Renderer
    from baton.app.templates import StaticTemplates
    from baton.local.commands.policy import read_text

    try:
        data = json.loads(read_text(args.data))
    except ValueError as exc:
        raise UsageError(f"{args.data} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{args.data} must hold a JSON object")
    try:
        rendered = Renderer(StaticTemplates(Path(args.templates))).render(args.name, args.channel, data, args.locale)
    except InvalidRequest as exc:
        raise UsageError(str(exc)) from None
    print(f"rendered with: {rendered.rendered_with}")
    if args.channel == "email":
        print(f"Subject: {rendered.subject}\n\n{rendered.text}")
        if rendered.html is not None:
            print(f"\n--- html ---\n{rendered.html}")
    else:
        print(rendered.text)
    return EXIT_OK
