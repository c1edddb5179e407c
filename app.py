#!/usr/bin/env python3
"""The CDK app: `make synth` (or `cdk synth`) runs this. The stack and its checks are built in infra.stack."""

from infra.node import use_bundled_node

use_bundled_node()  # before aws_cdk is imported: jsii starts node from PATH

import os  # noqa: E402

import aws_cdk as cdk  # noqa: E402

from infra.stack import build, cdk_json_context  # noqa: E402

# The CDK CLI passes cdk.json's context (and -c values) and the output folder; `python app.py` alone reads cdk.json
# and writes cdk.out like the CLI would.
cli = "CDK_OUTDIR" in os.environ
app = cdk.App(context=None if cli else cdk_json_context(), outdir=None if cli else "cdk.out")
build(app)
app.synth()
