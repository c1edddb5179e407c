"""A DynamoDB export of the ledger table (the native export to S3, DynamoDB JSON) read back into events for
``baton whatif``: each customer's profile and consent as the state item holds them, then one MessageRequested per
request item the ledger still keeps (audit retention), at the time it arrived.

The export: ``manifest-summary.json`` (``outputFormat`` ``DYNAMODB_JSON``, ``manifestFilesS3Key``), the
``manifest-files.json`` it names (JSON lines, each with a ``dataFileS3Key``), and the gzipped data files, one
``{"Item": {attribute: {type: value}}}`` per line. From a local folder (the one holding manifest-summary.json; a
data file is found under its ``data/`` folder) or an ``s3://bucket/prefix`` (through boto3, loaded only then).

What it cannot rebuild (docs/whatif.md): a profile as it was before a later change (the state item holds the
latest), requests past the audit retention (their items are gone), a request's own ``priority`` and
``not_after`` (the item keeps the effective priority, not the asked one, and no deadline), rejected requests
(their items hold no message), and address suppressions (kept as keyed hashes only).
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from baton.adapters.dynamodb.codec import _dt, decode_profile
from baton.app.profiles import RECORDED
from baton.core.domain import Profile
from baton.names import DETAIL_CONTACT_RECORDED, DETAIL_CUSTOMER_UPDATED, DETAIL_MESSAGE_REQUESTED, PK, SK

SUMMARY = "manifest-summary.json"
FORMAT = "DYNAMODB_JSON"
# The profile events come first: before any request the export holds.
PROFILE_TIME = "2000-01-01T00:00:00Z"
SOURCE = "baton.whatif.export"


class BadExport(Exception):
    """The export cannot be read; the message names the file and why."""


def is_export(path: str) -> bool:
    return path.startswith("s3://") or Path(path).is_dir()


@dataclass
class Export:
    location: str  # a local folder or s3://bucket/prefix, holding manifest-summary.json
    data_files: list[str]  # their keys, as the manifest lists them
    bucket: str | None = None

    @classmethod
    def open(cls, location: str) -> Export:
        bucket = location[5:].split("/", 1)[0] if location.startswith("s3://") else None
        probe = cls(location, [], bucket)
        summary = probe._json(SUMMARY)
        if summary.get("outputFormat", FORMAT) != FORMAT:
            raise BadExport(f"{probe._name(SUMMARY)}: outputFormat {summary.get('outputFormat')!r}, not {FORMAT}")
        manifest = summary.get("manifestFilesS3Key")
        if not isinstance(manifest, str):
            raise BadExport(f"{probe._name(SUMMARY)}: no manifestFilesS3Key")
        keys = []
        for number, line in enumerate(probe._text(manifest).splitlines(), start=1):
            try:
                entry = json.loads(line) if line.strip() else None
            except ValueError as exc:
                raise BadExport(f"{probe._name(manifest)} line {number}: not JSON ({exc})") from None
            if entry is not None:
                if not isinstance(entry, dict) or not isinstance(entry.get("dataFileS3Key"), str):
                    raise BadExport(f"{probe._name(manifest)} line {number}: no dataFileS3Key")
                keys.append(entry["dataFileS3Key"])
        return cls(location, keys, bucket)

    # -- reading files ---------------------------------------------------------------------------------------
    @staticmethod
    def _relative(key: str) -> str:
        """Where a key the manifests name lies under the export's folder: a data file under ``data/``, the
        manifests at its top (the keys themselves start with the bucket's prefix and the export's id)."""
        if key.startswith("data/") or "/data/" in key:
            return "data/" + key.rsplit("data/", 1)[-1]
        return key.rsplit("/", 1)[-1]

    def _local(self, key: str) -> Path:
        return Path(self.location) / self._relative(key)

    def _name(self, key: str) -> str:
        return str(self._local(key)) if self.bucket is None else f"s3://{self.bucket}/{self._s3_key(key)}"

    def _s3_key(self, key: str) -> str:
        prefix = self.location[5:].split("/", 1)[1] if "/" in self.location[5:] else ""
        return f"{prefix.rstrip('/')}/{self._relative(key)}".lstrip("/")

    def _bytes(self, key: str) -> bytes:
        if self.bucket is None:
            path = self._local(key)
            try:
                return path.read_bytes()
            except OSError as exc:
                raise BadExport(f"{path}: {exc.strerror or exc}") from None
        import boto3  # only for an export on S3

        try:
            body: bytes = boto3.client("s3").get_object(Bucket=self.bucket, Key=self._s3_key(key))["Body"].read()
        except Exception as exc:  # botocore's ClientError and connection errors alike: the file cannot be read
            raise BadExport(f"{self._name(key)}: {exc}") from None
        return body

    def _text(self, key: str) -> str:
        try:
            return self._bytes(key).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadExport(f"{self._name(key)}: not UTF-8 text ({exc})") from None

    def _json(self, key: str) -> dict[str, Any]:
        if self.bucket is None and not self._local(key).exists():
            raise BadExport(f"{self.location}: no {SUMMARY} (not a DynamoDB export folder)")
        try:
            value = json.loads(self._text(key))
        except ValueError as exc:
            raise BadExport(f"{self._name(key)}: not JSON ({exc})") from None
        if not isinstance(value, dict):
            raise BadExport(f"{self._name(key)}: not a JSON object")
        return value

    def items(self) -> Iterator[tuple[str, int, dict[str, Any]]]:
        """Every item of every data file: (file, line, the item as plain values)."""
        from boto3.dynamodb.types import TypeDeserializer  # a pure converter: no client, no call

        plain = TypeDeserializer()
        for key in self.data_files:
            name = self._name(key)
            try:
                text = gzip.GzipFile(fileobj=io.BytesIO(self._bytes(key))).read().decode("utf-8")
            except (OSError, EOFError, UnicodeDecodeError) as exc:
                raise BadExport(f"{name}: not a gzipped DynamoDB JSON file ({exc})") from None
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)["Item"]
                    item = {name_: plain.deserialize(value) for name_, value in raw.items()}
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise BadExport(f"{name} line {number}: not a DynamoDB JSON item ({exc!r})") from None
                if not isinstance(item.get(PK), str) or not isinstance(item.get(SK), str):
                    raise BadExport(
                        f"{name} line {number}: not an item of Baton's ledger table (no string {PK!r} and {SK!r}"
                        f" keys; it has {sorted(item)[:6]})"
                    )
                yield name, number, item

    def events(self) -> Iterator[tuple[int, str]]:
        """The events rebuilt from the items, numbered in the order the files list them."""
        number = 0
        for _, _, item in self.items():
            event = item_event(item)
            for one in ([] if event is None else [event]) + recorded_contacts(item):
                number += 1
                yield number, json.dumps(one, default=_plain)


def item_event(item: dict[str, Any]) -> dict[str, Any] | None:
    """The event an item stands for: a CustomerUpdated for a customer's state item, a MessageRequested for a
    request item that holds its message; None for the others (addresses, audit, rejected requests)."""
    pk, sk = item[PK], item[SK]
    if not pk.startswith("C#"):
        return None
    customer = pk[2:]
    if item.get("kind") == "state":
        detail = _profile_detail(customer, decode_profile(item.get("profile")), item)
        return {"id": f"export:{customer}:profile", "time": PROFILE_TIME, "source": SOURCE,
                "detail-type": DETAIL_CUSTOMER_UPDATED, "detail": detail}  # fmt: skip
    if item.get("kind") != "request" or not item.get("template") or not item.get("requested_at"):
        return None
    detail = {
        "request_id": sk.removeprefix("R#"),
        "customer_id": customer,
        "channel": item.get("channel"),
        "category": item.get("category"),
        "template": item["template"],
        "data": json.loads(item.get("data") or "{}"),
        "transactional": bool(item.get("transactional")),
        **{k: item[k] for k in ("campaign_id", "entity", "recipient") if item.get(k)},
    }
    if item.get("channels"):  # a request that lists channels: Baton chooses again, by the profile's addresses
        del detail["channel"]
        detail.pop("recipient", None)
        detail["channels"] = [candidate[0] for candidate in json.loads(item["channels"])["c"]]
    return {"id": item.get("event_id") or f"export:{customer}:{detail['request_id']}", "time": item["requested_at"],
            "source": SOURCE, "detail-type": DETAIL_MESSAGE_REQUESTED, "detail": detail}  # fmt: skip


def recorded_contacts(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The ContactRecorded events a customer's state item still holds (those inside the policy's longest window),
    each at the time the contact was made: when it was reported is not kept."""
    if item.get("kind") != "state" or not str(item[PK]).startswith("C#"):
        return []
    customer = str(item[PK])[2:]
    events = []
    for rid, at, channel, category, campaign, *_ in json.loads(item.get("contacts") or "[]"):
        if not str(rid).startswith(RECORDED):
            continue
        made = _dt(at)
        detail = {"contact_id": str(rid).removeprefix(RECORDED), "customer_id": customer, "channel": channel,
                  "category": category, "at": made.isoformat()}  # fmt: skip
        if campaign:
            detail["campaign_id"] = campaign
        events.append({"id": f"export:{customer}:{rid}", "time": made.isoformat(), "source": SOURCE,
                       "detail-type": DETAIL_CONTACT_RECORDED, "detail": detail})  # fmt: skip
    return events


def _profile_detail(customer: str, profile: Profile, item: dict[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = {"customer_id": customer}
    for name, attribute in (("email", "email"), ("phone", "phone"), ("push_endpoint", "push_endpoint")):
        if item.get(attribute):
            detail[name] = item[attribute]
    if profile.timezone:
        detail["timezone"] = profile.timezone
    if profile.locale:
        detail["locale"] = profile.locale
    if profile.consent:
        detail["consent"] = dict(profile.consent)
    detail["preferences"] = {
        "opted_out_categories": sorted(profile.opted_out_categories),
        "quiet_hours": {ch: {"start": w.start, "end": w.end} for ch, w in profile.quiet_hours.items()},
        "frequency": [
            {"channel": lim.channel, "limit": lim.limit, "window_days": lim.window.days} for lim in profile.limits
        ],
    }
    return detail


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
