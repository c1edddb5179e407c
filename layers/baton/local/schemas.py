"""``python -m baton.local.schemas FOLDER`` (``make schemas``): write the contract's JSON Schemas.

The files come from the same pydantic models that validate incoming events (``baton.contract.json_schemas``),
so the published schema and the validation cannot drift; a unit test checks the committed files match.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from baton.contract import json_schemas


def render(schema: dict[str, Any]) -> str:
    """One schema as committed: sorted keys, indent 2, a trailing newline."""
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in sorted(json_schemas().items()):
        path = folder / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m baton.local.schemas FOLDER", file=sys.stderr)
        return 2
    for path in write_schemas(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
