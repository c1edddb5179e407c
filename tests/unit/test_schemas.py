"""The published JSON Schemas (contract/*.json) are exactly what the validating models generate, and they judge
example events as the models do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from baton.contract import ContactRecorded, CustomerUpdated, MessageRequested, json_schemas, parse_detail
from baton.core.errors import InvalidRequest
from baton.local.schemas import main, render

CONTRACT = Path(__file__).resolve().parents[2] / "contract"


def test_committed_schemas_match_the_models() -> None:
    expected = {name: render(schema) for name, schema in json_schemas().items()}
    committed = {path.name: path.read_text(encoding="utf-8") for path in CONTRACT.glob("*.json")}
    assert sorted(committed) == sorted(expected), "run `make schemas`"
    for name, text in expected.items():
        assert committed[name] == text, f"contract/{name} is stale: run `make schemas`"


def test_generator_writes_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "out")]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(json_schemas())
    for name in written:
        text = (tmp_path / "out" / name).read_text(encoding="utf-8")
        assert text.endswith("}\n")
        assert json.loads(text) == json_schemas()[name]
    assert main([]) == 2


def test_each_schema_is_valid_draft_2020_12() -> None:
    for schema in json_schemas().values():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def _schema(model: type[BaseModel]) -> Draft202012Validator:
    name = next(n for n in json_schemas() if n.startswith(str(model.model_config.get("title"))))
    return Draft202012Validator(json.loads((CONTRACT / name).read_text(encoding="utf-8")))


def _model_accepts(model: type[BaseModel], detail: Any) -> bool:
    try:
        parse_detail(model, detail)
    except InvalidRequest:
        return False
    return True


REQUEST: dict[str, Any] = {
    "request_id": "r-1",
    "customer_id": "c-1",
    "channel": "sms",
    "category": "back_in_stock",
    "template": "back_in_stock",
}

CONTACT: dict[str, Any] = {
    "contact_id": "mail-1",
    "customer_id": "c-1",
    "channel": "direct_mail",
    "category": "sale",
    "at": "2026-11-27T08:00:00-06:00",
}

# Examples whose verdict a JSON Schema can express (the models add checks a schema cannot: data size,
# recipient against channel, IANA zone names).
EXAMPLES: list[tuple[type[BaseModel], dict[str, Any], bool]] = [
    (MessageRequested, REQUEST, True),
    (
        MessageRequested,
        {**REQUEST, "priority": 80, "transactional": True, "entity": "sku:1", "campaign_id": "bf", "data": {"a": 1}},
        True,
    ),
    (MessageRequested, {**REQUEST, "priority": None}, True),
    (MessageRequested, {k: v for k, v in REQUEST.items() if k != "customer_id"}, False),
    (MessageRequested, {**REQUEST, "channel": "fax"}, False),
    (MessageRequested, {**REQUEST, "priority": "5"}, False),
    (MessageRequested, {**REQUEST, "priority": 101}, False),
    (MessageRequested, {**REQUEST, "transactional": "yes"}, False),
    (MessageRequested, {**REQUEST, "category": "Black Friday"}, False),
    (MessageRequested, {**REQUEST, "request_id": ""}, False),
    (MessageRequested, {**REQUEST, "prority": 5}, False),
    (MessageRequested, {**REQUEST, "data": []}, False),
    (CustomerUpdated, {"customer_id": "c-1"}, True),
    (CustomerUpdated, {"customer_id": "c-1", "consent": {"email": True}, "timezone": "Europe/Berlin"}, True),
    (CustomerUpdated, {"customer_id": "c-1", "consent": {"email": "yes"}}, False),
    (CustomerUpdated, {"customer_id": "c-1", "consent": {"fax": True}}, False),
    (CustomerUpdated, {"customer_id": "c-1", "phone": "555-0100"}, False),
    (CustomerUpdated, {"customer_id": "c-1", "email": "sam@example.com", "phone": "+14155550100"}, True),
    (CustomerUpdated, {"email": "sam@example.com"}, False),
    (CustomerUpdated, {"customer_id": "c-1", "nickname": "sam"}, False),
    (ContactRecorded, CONTACT, True),
    (ContactRecorded, {**CONTACT, "channel": "email", "campaign_id": "bf-2026"}, True),
    (ContactRecorded, {**CONTACT, "channel": "Direct Mail"}, False),
    (ContactRecorded, {**CONTACT, "channel": "x"}, False),
    (ContactRecorded, {**CONTACT, "channel": "a" * 33}, False),
    (ContactRecorded, {k: v for k, v in CONTACT.items() if k != "contact_id"}, False),
    (ContactRecorded, {k: v for k, v in CONTACT.items() if k != "at"}, False),
    (ContactRecorded, {**CONTACT, "priority": 5}, False),
]


@pytest.mark.parametrize(("model", "detail", "valid"), EXAMPLES)
def test_schema_and_model_agree(model: type[BaseModel], detail: dict[str, Any], valid: bool) -> None:
    assert _model_accepts(model, detail) is valid
    assert _schema(model).is_valid(detail) is valid
