"""The shared layer as built on disk: Baton's package without what no function imports (the local runtime and CLI,
the operator tools, the storefront client), its dependencies for arm64, and no AWS SDK (the Lambda runtime ships
it)."""

from __future__ import annotations

from pathlib import Path

from infra.assets import LAYER, NOT_DEPLOYED, build_layer, function_code

from .conftest import Synthesized


def test_the_layer_holds_baton_and_its_dependencies_but_not_the_local_tools(synth: Synthesized) -> None:
    site = Path(build_layer()) / "python"
    assert site == LAYER / "python"
    for package in (
        "baton",
        "aws_lambda_powertools",
        "aws_xray_sdk",
        "pydantic",
        "pydantic_core",
        "pynamodb",
        "jinja2",
    ):
        assert (site / package).is_dir(), package
    assert (site / "baton" / "policies" / "default.yaml").is_file()
    assert (site / "baton" / "templates").is_dir()
    assert set(NOT_DEPLOYED) == {"local", "ops", "client.py", "adapters/memory.py"}
    for part in NOT_DEPLOYED:
        assert not (site / "baton" / part).exists(), part
    for part in ("core", "contract.py", "app", "adapters", "adapters/dynamodb", "entry", "names.py"):
        assert (site / "baton" / part).exists(), part
    assert not list(site.rglob("__pycache__"))
    for provided in ("boto3", "botocore", "s3transfer", "urllib3"):
        assert not (site / provided).exists(), provided
    assert list((site / "pydantic_core").glob("*aarch64*.so")), "pydantic-core must be the arm64 build"


def test_each_function_folder_has_a_handler() -> None:
    for name in ("arbiter", "profile", "sweeper", "unsubscribe", "preferences", "feedback"):
        assert (function_code(name) / "handler.py").is_file()
