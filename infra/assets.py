"""Lambda assets, built without Docker.

The shared layer holds Baton's package (``layers/baton`` without what runs only on an operator's or a storefront's
machine: ``NOT_DEPLOYED``) and its run-time
dependencies: aws-lambda-powertools[tracer], pydantic, pynamodb, jinja2. pip installs them for the Lambda platform
(``--platform manylinux2014_aarch64 --only-binary=:all:``) at exactly the versions installed in this environment,
the ones the tests ran against. The AWS SDK (boto3, botocore and their dependencies) is left to the Lambda runtime,
which ships and patches it. The dependency install is cached under ``build/`` by a key of everything that decides
it, so repeated synths and test runs skip pip; Baton's own code is re-copied only when it changed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FUNCTIONS = REPO / "functions"
BATON_SOURCE = REPO / "layers" / "baton"
BUILD = REPO / "build"
LAYER = BUILD / "layer"  # the asset folder: Lambda puts python/ from it on sys.path
# Parts of the package no function imports (tests/infra/test_assets.py holds the functions to it, and the
# importlinter contracts in pyproject.toml): the local runtime and the CLI, the operator tools, the storefront
# client, the in-memory ledger. Paths below layers/baton.
NOT_DEPLOYED = ("local", "ops", "client.py", "adapters/memory.py")

PYTHON_VERSION = "3.14"  # the Lambda runtime's (infra.function.RUNTIME)
PLATFORM = "manylinux2014_aarch64"  # arm64
LAYER_REQUIREMENTS = ("aws-lambda-powertools[tracer]", "pydantic", "pynamodb", "jinja2")
# Shipped by the Lambda Python runtime (boto3 and what it depends on): not duplicated in the layer.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"})
LAYER_FORMAT = 1  # bump to force a rebuild when this module changes what it produces


class AssetError(RuntimeError):
    pass


def _name(requirement: str) -> str:
    return requirement.split("[", 1)[0]


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def pinned_requirements() -> list[str]:
    """The layer's requirements at the versions installed here (``name[extras]==version``)."""
    out = []
    for requirement in LAYER_REQUIREMENTS:
        try:
            version = metadata.version(_name(requirement))
        except metadata.PackageNotFoundError:
            raise AssetError(f"{_name(requirement)} is not installed here; run `make venv` first") from None
        out.append(f"{requirement}=={version}")
    return out


def constraints() -> list[str]:
    """Every distribution installed here, pinned: transitive dependencies resolve to the tested versions too."""
    pins = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and canonical(name) != "baton":
            pins[canonical(name)] = dist.version
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def dependencies_key() -> str:
    document = {
        "format": LAYER_FORMAT,
        "python": PYTHON_VERSION,
        "platform": PLATFORM,
        "requirements": pinned_requirements(),
        "constraints": constraints(),
        "runtime_provided": sorted(RUNTIME_PROVIDED),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _tree_digest(root: Path, skip: set[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or any(path.is_relative_to(s) for s in skip):
            continue
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@contextmanager
def _locked() -> Iterator[None]:
    BUILD.mkdir(parents=True, exist_ok=True)
    with open(BUILD / ".layer.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_distribution(site: Path, name: str) -> None:
    """Delete one installed distribution from a --target folder, by its RECORD."""
    for info in site.glob("*.dist-info"):
        meta = info / "METADATA"
        if not meta.exists():
            continue
        found = next((line[6:].strip() for line in meta.read_text().splitlines() if line.startswith("Name: ")), "")
        if canonical(found) != name:
            continue
        for line in (info / "RECORD").read_text().splitlines():
            relative = line.split(",", 1)[0]
            target = (site / relative).resolve()
            if target.is_relative_to(site.resolve()) and target.is_file():
                target.unlink()
        shutil.rmtree(info, ignore_errors=True)
    for folder in sorted((p for p in site.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()


def _install_dependencies(target: Path) -> None:
    with tempfile.TemporaryDirectory(dir=BUILD) as scratch:
        constraints_file = Path(scratch) / "constraints.txt"
        constraints_file.write_text("\n".join(constraints()) + "\n")
        site = Path(scratch) / "python"
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
            "--no-compile", "--target", str(site), "--platform", PLATFORM, "--implementation", "cp",
            "--python-version", PYTHON_VERSION, "--only-binary=:all:", "--constraint", str(constraints_file),
            *pinned_requirements(),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise AssetError(
                "building the Lambda layer needs the Python package index (pip install for "
                f"{PLATFORM}, Python {PYTHON_VERSION}):\n{result.stderr.strip()}"
            )
        for name in RUNTIME_PROVIDED:
            _remove_distribution(site, name)
        shutil.rmtree(site / "bin", ignore_errors=True)
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        site.rename(target)


def _copy_baton(target: Path) -> None:
    left_out = {BATON_SOURCE / part for part in NOT_DEPLOYED}

    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n == "__pycache__" or n.endswith(".pyc")}
        skip.update(n for n in names if Path(folder) / n in left_out)
        return skip

    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(BATON_SOURCE, target, ignore=ignore)


def build_layer() -> Path:
    """Build (or reuse) the layer folder and return it: ``build/layer/python/{dependencies,baton}``."""
    site = LAYER / "python"
    with _locked():
        key = dependencies_key()
        stamp = BUILD / "layer-dependencies.key"
        if not stamp.exists() or stamp.read_text() != key or not site.exists():
            _install_dependencies(site)
            stamp.write_text(key)
        source = _tree_digest(BATON_SOURCE, {BATON_SOURCE / name for name in NOT_DEPLOYED})
        code_stamp = BUILD / "layer-baton.digest"
        if not code_stamp.exists() or code_stamp.read_text() != source or not (site / "baton").exists():
            _copy_baton(site / "baton")
            code_stamp.write_text(source)
    return LAYER


def function_code(name: str) -> Path:
    """The code asset of one function: its folder under functions/ (a handler.py with lambda_handler)."""
    folder = FUNCTIONS / name
    if not (folder / "handler.py").is_file():
        raise AssetError(f"no handler for function {name!r}: expected {folder / 'handler.py'}")
    return folder


if __name__ == "__main__":
    print(build_layer())
