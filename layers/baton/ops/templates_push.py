"""Putting a template set into the store (``baton templates push``) and saying what a push would change
(``baton templates diff``). The comparison is pure; the S3 calls are here too, behind ConfigurationError, so the
command only reads and prints.

A push uploads the files that changed (S3 gives each upload a version id; unchanged files keep theirs), then writes
the manifest naming every file's version id: the one write that switches the set. Files the new set no longer has
are deleted afterwards (a delete marker: the versions an older manifest names stay readable).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from baton.adapters.template_store import MANIFEST_KEY, PREFIX, fetch_files, manifest_text, read_manifest
from baton.app.templates import TemplateSet
from baton.core.errors import ConfigurationError, TransientFailure

BUCKET_OUTPUT = "TemplateBucketName"  # the stack's output naming the bucket


@dataclass(frozen=True)
class Live:
    """What the store holds now: the set its manifest names, and each file's S3 version id."""

    templates: TemplateSet
    version_ids: dict[str, str]


@dataclass(frozen=True)
class SetDiff:
    before: str | None  # the live version (None: the store holds no set)
    after: str
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        head = f"{self.before or '(empty store)'} -> {self.after}"
        body = [f"+ {p}" for p in self.added] + [f"~ {p}" for p in self.changed] + [f"- {p}" for p in self.removed]
        return [head, *body] if body else [head, "no changes"]


def compare(live: TemplateSet | None, new: TemplateSet) -> SetDiff:
    """Pure: which files ``new`` adds, changes and removes compared with ``live``."""
    before = dict(live.files) if live else {}
    return SetDiff(
        before=live.version if live else None,
        after=new.version,
        added=tuple(sorted(p for p in new.files if p not in before)),
        changed=tuple(sorted(p for p in new.files if p in before and before[p] != new.files[p])),
        removed=tuple(sorted(p for p in before if p not in new.files)),
    )


def s3_client() -> Any:
    from botocore.exceptions import BotoCoreError

    from baton.adapters.aws import aws_client

    try:
        return aws_client("s3")
    except BotoCoreError as exc:
        raise ConfigurationError(f"no S3 client: {exc}") from None


def bucket_of_stack(stack: str) -> str:
    """The template bucket of a deployed stack (its ``TemplateBucketName`` output)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from baton.adapters.aws import aws_client

    try:
        found = aws_client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    except (BotoCoreError, ClientError) as exc:
        raise ConfigurationError(f"cannot read stack {stack}: {exc}") from None
    for output in found:
        if output.get("OutputKey") == BUCKET_OUTPUT:
            return str(output["OutputValue"])
    raise ConfigurationError(f"stack {stack} has no {BUCKET_OUTPUT} output: deploy it first, or give --bucket")


def stack_of_table(table: str) -> str:
    """The stack that made the ledger table ``table`` (``baton-ledger``: Baton; ``baton-<stage>-ledger``:
    Baton-<stage>), whose output names the template bucket of the same deployment."""
    from baton.names import stage_names, stage_of_table

    try:
        return stage_names(stage_of_table(table)).stack
    except ValueError as exc:
        raise ConfigurationError(f"--table {table}: {exc}") from None


def read_live(s3: Any, bucket: str) -> Live | None:
    """The set the store's manifest names, or None when the store holds none yet."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        manifest = read_manifest(s3, bucket)
        if manifest is None:
            return None
        version_ids = {str(k): str(v) for k, v in manifest["files"].items()}
        files = fetch_files(s3, bucket, version_ids)
    except (BotoCoreError, ClientError, TransientFailure) as exc:
        raise ConfigurationError(f"cannot read the template store {bucket}: {exc}") from None
    return Live(TemplateSet(version=str(manifest.get("version", "?")), files=files), version_ids)


def push(s3: Any, bucket: str, new: TemplateSet, live: Live | None) -> SetDiff:
    """Upload what changed, then switch the manifest to ``new``; what changed. Nothing is written when nothing
    changed. A failure before the manifest is written leaves the live set in force (new file versions that no
    manifest names are harmless)."""
    from botocore.exceptions import BotoCoreError, ClientError

    diff = compare(live.templates if live else None, new)
    if diff.empty:
        return diff
    version_ids = {p: v for p, v in (live.version_ids if live else {}).items() if p in new.files}
    try:
        for path in (*diff.added, *diff.changed):
            content_type = "text/html; charset=utf-8" if path.endswith(".html") else "text/plain; charset=utf-8"
            put = s3.put_object(
                Bucket=bucket, Key=PREFIX + path, Body=new.files[path].encode(), ContentType=content_type
            )
            if not put.get("VersionId"):
                raise ConfigurationError(f"bucket {bucket} is not versioned: a push there could not be atomic")
            version_ids[path] = put["VersionId"]
        manifest = manifest_text(new, version_ids, datetime.now(UTC).isoformat(timespec="seconds"))
        s3.put_object(Bucket=bucket, Key=MANIFEST_KEY, Body=manifest.encode(), ContentType="application/json")
        for path in diff.removed:
            s3.delete_object(Bucket=bucket, Key=PREFIX + path)
    except (BotoCoreError, ClientError) as exc:
        raise ConfigurationError(f"cannot write to the template store {bucket}: {exc}") from None
    return diff
