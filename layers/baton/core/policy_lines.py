"""Where a path of a policy document is in its YAML text: the line, from the nodes PyYAML composes on its way
to the document.

Imported only where a policy is read from YAML (the CLI, the local runtime, the CDK app): Lambda reads the
policy's JSON form and loads neither PyYAML nor this module.
"""

from __future__ import annotations

from typing import Any

import yaml

from baton.core.errors import PolicyError, Problem
from baton.core.policy import DocumentPath, Lines


def read_yaml(text: str, source: str) -> tuple[Any, Lines]:
    """The document in ``text`` (as ``yaml.safe_load`` reads it) and the line of any path in it; PolicyError,
    with the line and column, when the text is not valid YAML."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        document = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        message = f"not valid YAML: {getattr(exc, 'problem', None) or exc}"
        if mark is None:
            raise PolicyError(source, [Problem("", message)]) from None
        raise PolicyError(source, [Problem("", f"{message} (column {mark.column + 1})", mark.line + 1)]) from None
    finally:
        loader.dispose()
    return document, lambda path: line_of(root, path)


def line_of(root: yaml.Node | None, path: DocumentPath) -> int | None:
    """The 1-based line of ``path``: a mapping entry's key, or a list item. A path that goes on past what the text
    holds (a required field left out) gets the line of the last node it reaches: the mapping that lacks it."""
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            entry = next((pair for pair in node.value if _is_key(pair[0], part)), None)
            if entry is None:
                break
            line, node = entry[0].start_mark.line + 1, entry[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _is_key(key: yaml.Node, part: str | int) -> bool:
    return isinstance(key, yaml.ScalarNode) and key.value == str(part)
