"""``baton keys rotate`` against the signing-keys secret (moto's Secrets Manager), and the unsubscribe endpoint
reading that secret: after a rotation a link mailed before still unsubscribes, a new link carries the new key id and
unsubscribes too, and a token of a key id the secret does not hold is 403 and changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from baton.adapters.secrets import signing_keys_from_secret
from baton.app.keys import SigningKey
from baton.app.unsubscribe import VALIDITY, Claim, sign
from baton.entry.api import unsubscribe_app
from baton.local.cli import main
from baton.local.runtime import LocalContext, LocalRuntime, function_url_event
from baton.names import SIGNING_SECRET_NAME
from baton.ops.keys import ACTIVATION_DELAY, first_signing_keys

CUSTOMER = "shopper-rk"


def unsubscribe(runtime: LocalRuntime, token: str) -> int:
    from functions.unsubscribe.handler import lambda_handler

    keys = lambda: signing_keys_from_secret(SIGNING_SECRET_NAME, 0)  # noqa: E731 - read again on every request
    app = unsubscribe_app(lambda: runtime.ledger, keys, runtime.clock)
    event = function_url_event("POST", "/unsubscribe", {"token": token}, "List-Unsubscribe=One-Click")
    return int(lambda_handler(event, LocalContext(), app=app)["statusCode"])


def customer(runtime: LocalRuntime) -> None:
    detail = {"customer_id": CUSTOMER, "email": "rk@example.com", "consent": {"email": True}}
    now = runtime.clock.now().isoformat()
    envelope = {"id": "e1", "time": now, "source": "shop", "detail-type": "CustomerUpdated", "detail": detail}
    assert runtime.invoke_profile([json.dumps(envelope)]) == {"batchItemFailures": []}


def link(key: SigningKey, now: datetime, category: str) -> str:
    return sign(Claim(CUSTOMER, f"category:{category}", now + VALIDITY), key)


def test_rotate_then_old_and_new_links_work_and_an_unknown_key_id_is_refused(
    runtime_now: LocalRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = runtime_now
    customer(runtime)
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    before = first_signing_keys(runtime.clock.now())
    secrets.create_secret(Name=SIGNING_SECRET_NAME, SecretString=json.dumps(before.as_mapping()))
    mailed = link(before.keys[0], runtime.clock.now(), "sale")

    assert main(["keys", "rotate", "--dry-run"]) == 0
    assert "would add key" in capsys.readouterr().out
    assert signing_keys_from_secret(SIGNING_SECRET_NAME, 0) == before
    assert main(["keys", "rotate"]) == 0
    out = capsys.readouterr().out
    assert f"kept {before.keys[0].id}: verifies the tokens it signed until they expire" in out
    after = signing_keys_from_secret(SIGNING_SECRET_NAME, 0)
    added = after.keys[-1]
    assert len(after.keys) == 2 and f"added key {added.id}" in out
    assert added.since - datetime.now(UTC) > ACTIVATION_DELAY - timedelta(minutes=1)

    # to a minute after the new key's start (the command runs on the wall clock, the runtime on its own)
    runtime.clock.advance(added.since - runtime.clock.now() + timedelta(minutes=1))
    assert runtime.ledger.load(CUSTOMER, None, None, consistent=True).ledger.profile.opted_out_categories == set()
    assert unsubscribe(runtime, mailed) == 200  # signed before the rotation
    fresh = link(after.signing(runtime.clock.now()), runtime.clock.now(), "newsletter")
    assert fresh.split(".")[1] == added.id
    assert unsubscribe(runtime, fresh) == 200
    state = runtime.ledger.load(CUSTOMER, None, None, consistent=True).ledger
    assert state.profile.opted_out_categories == {"sale", "newsletter"}
    unknown = link(SigningKey("nosuchkey", added.key, added.since), runtime.clock.now(), "back_in_stock")
    assert unsubscribe(runtime, unknown) == 403
    assert runtime.ledger.load(CUSTOMER, None, None, consistent=True).ledger == state


def test_rotate_names_a_missing_secret(local_aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "rotate", "--secret", "baton/nope/signing-keys"]) == 2
    assert "baton keys: cannot rotate baton/nope/signing-keys" in capsys.readouterr().err
