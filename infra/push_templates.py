"""The last step of ``make deploy``: the shipped template set (``layers/baton/templates``) pushed into the deployed
stack's template store, as ``baton templates push layers/baton/templates --stack <the deployment's stack>`` would
(the bucket from the stack's ``TemplateBucketName`` output). Like any push it makes the store hold exactly that
set: nothing is written when the store holds it already, and a set pushed from elsewhere since the last deploy is
replaced (its file versions stay in the bucket, so pushing it again brings it back).

Run by ``make deploy`` only, after ``cdk deploy``: never by ``make synth`` or the tests, which need no network."""

from __future__ import annotations

import argparse
import sys

from baton.app.templates import SHIPPED
from infra.config import ConfigError, deployment_names
from infra.keys import add_cdk_args, deploy_context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Push the shipped template set into the deployed stack's bucket.")
    add_cdk_args(parser)
    args = parser.parse_args(argv)
    try:
        stack = deployment_names(deploy_context(args.cdk_args)).stack
    except ConfigError as exc:
        print(f"cannot name the stack: {exc}", file=sys.stderr)
        return 1
    from baton.local.cli import main as baton

    return baton(["templates", "push", str(SHIPPED), "--stack", stack])


if __name__ == "__main__":
    sys.exit(main())
