"""The template store: a versioned S3 bucket, read through a powertools Parameters provider with a 60 s cache.

Layout: every file of a set at ``templates/<name>/<locale>/<form>`` (samples at ``templates/<name>/samples/``),
and one manifest object, ``manifest.json``, naming the set's ``version`` and the S3 version id of every file. A push
uploads the files, then writes the manifest (``baton.ops.templates_push``): the files a manifest names never change
(S3 keeps every version), so a function sees the old set or the new one, never half of each.

A function reads the manifest on its first render (not at its start) and again once the cached copy is 60 s old;
when the manifest names a new version it fetches that set's files, checks them as ``baton templates validate`` does
(every sample renders), and only then uses the set. A set that fails to load or to check leaves the last good set in
force (the shipped set, if none was read yet) and is reported to ``on_rejected`` (the functions count it as the
``TemplatesRejected`` metric, which raises an alarm). A manifest that cannot be read is tried again after ``max_age``
seconds, not at every render. The S3 client is made at the first render too (``client=None``, in Lambda).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from baton.app.templates import StaticTemplates, TemplateSet, check
from baton.core.errors import ConfigurationError, TransientFailure

MANIFEST_KEY = "manifest.json"
PREFIX = "templates/"
FETCH_THREADS = 8


def manifest_text(templates: TemplateSet, version_ids: dict[str, str], pushed_at: str) -> str:
    """The manifest of ``templates`` whose files S3 holds at ``version_ids`` (path -> S3 version id)."""
    return json.dumps(
        {"version": templates.version, "pushed_at": pushed_at, "files": dict(sorted(version_ids.items()))}, indent=1
    )


def _provider(client: Any, bucket: str) -> Any:
    from aws_lambda_powertools.utilities.parameters.base import BaseProvider

    class ManifestProvider(BaseProvider):
        """The manifest's text ("" while the bucket has none), cached by powertools like a parameter."""

        def _get(self, name: str, **sdk_options: Any) -> str:
            try:
                body = client.get_object(Bucket=bucket, Key=name)["Body"].read()
            except client.exceptions.NoSuchKey:
                return ""
            return str(body.decode("utf-8"))

        def _get_multiple(self, path: str, **sdk_options: Any) -> dict[str, str]:
            raise NotImplementedError

    return ManifestProvider(client=client)


class StoreTemplates:
    """The current template set of the store in ``bucket`` (see the module's docstring)."""

    def __init__(
        self,
        client: Any | None,
        bucket: str,
        max_age: int = 60,
        on_rejected: Callable[[str], None] = lambda _: None,
        fallback: StaticTemplates | None = None,
    ):
        self._client = client
        self._bucket = bucket
        self._max_age = max_age
        self._on_rejected = on_rejected
        self._fallback = fallback or StaticTemplates()
        self._last: tuple[str, TemplateSet] | None = None  # manifest digest, its set
        self._rejected: str | None = None
        self._retry_at = 0.0  # time.monotonic() before which an unreadable manifest is not read again

    @cached_property
    def _s3(self) -> Any:
        """The S3 client given, or (None: in Lambda) one made at the first render, never at the cold start."""
        if self._client is not None:
            return self._client
        from baton.adapters.aws import aws_client

        return aws_client("s3")

    @cached_property
    def _manifests(self) -> Any:
        return _provider(self._s3, self._bucket)

    def current(self) -> TemplateSet:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        now = time.monotonic()
        if now < self._retry_at:  # the manifest was unreadable a moment ago: no S3 call per render meanwhile
            return self._last[1] if self._last else self._fallback.current()
        try:
            raw = self._manifests.get(MANIFEST_KEY, max_age=self._max_age)
        except GetParameterError as exc:
            self._retry_at = now + self._max_age
            return self._keep(f"manifest unreadable: {exc}", None)
        if not raw:
            return self._last[1] if self._last else self._fallback.current()
        digest = hashlib.sha256(str(raw).encode()).hexdigest()
        if self._last is not None and self._last[0] == digest:
            return self._last[1]
        if digest == self._rejected:
            return self._last[1] if self._last else self._fallback.current()
        try:
            templates = self._load(str(raw))
        except (ConfigurationError, TransientFailure) as exc:
            return self._keep(str(exc), digest)
        self._last = (digest, templates)
        return templates

    def _keep(self, why: str, digest: str | None) -> TemplateSet:
        """The last good set (the shipped one if none was read), after reporting why the new one is not used.
        A manifest that is broken is not tried again until it changes; one that could not be read is."""
        if digest is not None:
            self._rejected = digest
        self._on_rejected(why)
        return self._last[1] if self._last else self._fallback.current()

    def _load(self, raw: str) -> TemplateSet:
        try:
            manifest = json.loads(raw)
            version, files = str(manifest["version"]), dict(manifest["files"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"{MANIFEST_KEY} is not a template manifest: {exc}") from None
        templates = TemplateSet(version=version, files=self._fetch(files))
        problems = check(templates)
        if problems:
            shown = "; ".join(f"{p.field}: {p.message}" for p in problems[:5])
            raise ConfigurationError(f"template set {version} has {len(problems)} problem(s): {shown}")
        return templates

    def _fetch(self, version_ids: dict[str, str]) -> dict[str, str]:
        return fetch_files(self._s3, self._bucket, version_ids)


def read_manifest(client: Any, bucket: str) -> dict[str, Any] | None:
    """The store's manifest, or None while it has none (operator tools; the functions read it through the cache)."""
    text = _provider(client, bucket)._get(MANIFEST_KEY)
    if not text:
        return None
    try:
        manifest = json.loads(text)
        dict(manifest["files"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"{MANIFEST_KEY} is not a template manifest: {exc}") from None
    return dict(manifest)


def fetch_files(client: Any, bucket: str, version_ids: dict[str, str]) -> dict[str, str]:
    """Each file (path -> S3 version id) at the version the manifest names, fetched a few at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from botocore.exceptions import BotoCoreError, ClientError

    def one(item: tuple[str, str]) -> tuple[str, str]:
        path, version_id = item
        found = client.get_object(Bucket=bucket, Key=PREFIX + path, VersionId=version_id)
        return path, found["Body"].read().decode("utf-8")

    try:
        with ThreadPoolExecutor(FETCH_THREADS) as pool:
            return dict(pool.map(one, version_ids.items()))
    except (BotoCoreError, ClientError) as exc:
        raise TransientFailure(f"template files unreadable: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"a template file is not UTF-8: {exc}") from None
