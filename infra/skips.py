"""checkov's exceptions, written on the resource they excuse: the template's ``Metadata.checkov.skip`` list, each
entry a check id and the reason it does not apply to that resource (``docs/security.md`` lists them all). There is
no global skip list: a check skipped here is skipped for this one resource, and still runs on every other.
``tests/infra/test_checkov.py`` runs checkov on the template and holds every comment to a length."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource
from constructs import IConstruct

METADATA_KEY = "checkov"


def _resource(construct: IConstruct) -> CfnResource:
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path}: no CloudFormation resource to write checkov's skips on")
    return resource


def skip_checks(construct: IConstruct, *skips: tuple[str, str]) -> None:
    """Skip each ``(check id, reason)`` on ``construct``'s resource (its default child for an L2 construct),
    after any skips already there."""
    resource = _resource(construct)
    present: Any = resource.get_metadata(METADATA_KEY) or {}
    entries = [*present.get("skip", []), *({"id": check, "comment": comment} for check, comment in skips)]
    resource.add_metadata(METADATA_KEY, {"skip": entries})
