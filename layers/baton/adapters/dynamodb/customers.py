"""The ledger's customers: profile, consent and preferences (under the version check, so they take effect at once),
unsubscribes, delivery feedback on addresses (by keyed hash only), and erasure."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from baton.adapters.dynamodb.codec import (
    _address_standing,
    _dt,
    _dumps,
    _from_iso,
    _ts,
    decode_engagement,
    decode_ledger,
    decode_profile,
    encode_contacts,
    encode_engagement,
    encode_profile,
    iso,
)
from baton.adapters.dynamodb.items import (
    ADDRESS_SK,
    STATE_SK,
    _Models,
    address_pk,
    customer_pk,
    engagement_sk,
)
from baton.app.engagements import Engagement, profile_after
from baton.app.profiles import (
    AddressFeedback,
    after_feedback,
    unsubscribed,
    update_addresses,
    update_audit,
    updated_profile,
    with_contact,
)
from baton.core.addresses import address_hash
from baton.core.domain import AddressStanding, Profile
from baton.core.errors import ConcurrentUpdate, TransientFailure

if TYPE_CHECKING:  # annotations only (the sweeper loads the ledger and no contract or policy model)
    from baton.contract import ContactRecorded, CustomerUpdated
    from baton.core.policy import Policy


class Customers:
    """Profiles, addresses and erasure (part of ``DynamoLedger``)."""

    _m: _Models
    _retention: timedelta
    _salt: bytes

    def hash(self, address: str) -> str:
        return address_hash(address, self._salt)

    # profile, preferences, consent ------------------------------------------------------------------------
    def _change_profile(
        self,
        customer_id: str,
        change: Callable[[Profile], Profile],
        now: datetime,
        *,
        addresses: Mapping[str, str] | None = None,
        audit: tuple[str, Mapping[str, Any]] | None = None,
        create: bool = True,
    ) -> bool:
        """Read-modify-write the profile under the version check; the version moves, so a decision read
        before this change cannot commit after it: consent and opt-outs take effect at once."""
        m = self._m
        pk = customer_pk(customer_id)
        new_addresses = {k: v for k, v in (addresses or {}).items() if v}
        for _ in range(8):
            keys = [(pk, STATE_SK)] + [(address_pk(self.hash(a)), ADDRESS_SK) for a in new_addresses.values()]
            found = {(i.pk, i.sk): i for i in m.item.batch_get(keys, consistent_read=True)}
            state = found.get((pk, STATE_SK))
            if state is None and not create:
                return False
            version = int(state.version or 0) if state is not None else 0
            profile = change(decode_profile(state.profile if state is not None else None))
            actions: list[Action] = [
                m.state.kind.set(m.state),
                m.state.version.set(version + 1),
                m.state.profile.set(encode_profile(profile)),
                m.state.updated_at.set(iso(now)),
            ]
            blocked: set[str] = set()
            soft: dict[str, datetime] = {}
            for channel, address in new_addresses.items():
                attr = {"email": m.state.email, "sms": m.state.phone, "push": m.state.push_endpoint}[channel]
                actions.append(attr.set(address))
                digest = self.hash(address)
                item = found.get((address_pk(digest), ADDRESS_SK))
                if item is not None:
                    _address_standing(item, digest, blocked, soft)
            if blocked:
                actions.append(m.state.blocked.add(blocked))
            if soft:
                actions.append(m.state.soft_blocked.add({f"{h}@{_ts(u)}" for h, u in soft.items()}))
            condition = m.state.version.does_not_exist() if version == 0 else m.state.version == version
            try:
                with TransactWrite(connection=m.connection) as tx:
                    tx.update(m.state(pk, STATE_SK), actions=actions, condition=condition)
                    for address in new_addresses.values():
                        owner = m.address(address_pk(self.hash(address)), ADDRESS_SK)
                        tx.update(owner, actions=[m.address.kind.set(m.address), m.address.owners.add({customer_id})])
                    if audit is not None:
                        actor, what = audit
                        tx.save(
                            m.audit(
                                pk,
                                f"AUDIT#{iso(now)}#{uuid.uuid4().hex[:8]}",
                                actor=actor,
                                change=_dumps(what),
                                at=iso(now),
                                expires_at=now + self._retention,
                            )
                        )
                return True
            except TransactWriteError as exc:
                reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or []) if r is not None]
                if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                    continue
                raise TransientFailure(f"ledger write failed: {exc.cause_response_code}") from exc
        raise ConcurrentUpdate(f"profile of {customer_id} kept changing")

    def update_profile(self, update: CustomerUpdated, now: datetime, actor: str | None = None) -> None:
        """Apply a CustomerUpdated: fields present replace stored ones."""
        audit = None if actor is None else (actor, update_audit(update))
        self._change_profile(
            update.customer_id,
            partial(updated_profile, update=update),
            now,
            addresses=update_addresses(update),
            audit=audit,
        )

    def _state(self, pk: str) -> Any:
        """The customer's state item, read consistently (None when there is none)."""
        try:
            return self._m.state.get(pk, STATE_SK, consistent_read=True)
        except self._m.state.DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise TransientFailure(f"ledger read failed: {exc}") from exc

    def record_contact(self, recorded: ContactRecorded, now: datetime, policy: Policy) -> bool:
        """Read-modify-write of the state's contacts under the version check, as a profile change is: one
        UpdateItem, retried on a concurrent write (a decision's commit, a profile change)."""
        m = self._m
        pk = customer_pk(recorded.customer_id)
        for _ in range(8):
            state = self._state(pk)
            current = decode_ledger(recorded.customer_id, state)
            contacts = with_contact(current, recorded, policy, now)
            if contacts is None:
                return False
            version = current.version
            actions: list[Action] = [
                m.state.kind.set(m.state),
                m.state.version.set(version + 1),
                m.state.contacts.set(encode_contacts(contacts)),
                m.state.updated_at.set(iso(now)),
            ]
            condition = m.state.version.does_not_exist() if version == 0 else m.state.version == version
            try:
                m.state(pk, STATE_SK).update(actions=actions, condition=condition)
                return True
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise TransientFailure(f"ledger write failed: {exc.cause_response_code}") from exc
        raise ConcurrentUpdate(f"contacts of {recorded.customer_id} kept changing")

    def record_engagement(self, engagement: Engagement, now: datetime, policy: Policy) -> bool:
        """One TransactWriteItems: the engagement's own item, on the condition that its key is new, and the state's
        ``engagement`` attribute with it added, on the condition that the attribute is as read (the version is
        neither checked nor moved, so no decision retries for it). A duplicate changes nothing; a concurrent
        profile update makes this read again and retry."""
        m = self._m
        pk = customer_pk(engagement.customer_id)
        for _ in range(8):
            state = self._state(pk)
            held_text = state.engagement if state is not None else None
            timezone = decode_profile(state.profile if state is not None else None).timezone
            after = profile_after(decode_engagement(held_text), timezone, engagement, now, policy)
            held = m.state.engagement
            try:
                with TransactWrite(connection=m.connection) as tx:
                    tx.save(self._engagement_item(engagement, now), condition=m.engagement.pk.does_not_exist())
                    tx.update(
                        m.state(pk, STATE_SK),
                        actions=[m.state.kind.set(m.state), m.state.engagement.set(encode_engagement(after))],
                        condition=held.does_not_exist() if held_text is None else held == held_text,
                    )
                return True
            except TransactWriteError as exc:
                reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
                if reasons and reasons[0] == "ConditionalCheckFailed":  # the put, first: stored before
                    return False
                if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                    continue
                raise TransientFailure(f"engagement write failed: {exc.cause_response_code}") from exc
        raise ConcurrentUpdate(f"engagement profile of {engagement.customer_id} kept changing")

    def _engagement_item(self, engagement: Engagement, now: datetime) -> Any:
        return self._m.engagement(
            customer_pk(engagement.customer_id),
            engagement_sk(engagement.kind, engagement.key),
            engaged=engagement.kind,
            at=iso(engagement.at),
            channel=engagement.channel,
            request_id=engagement.request_id,
            value=engagement.value,
            expires_at=now + self._retention,
        )

    def address_owners(self, address: str) -> list[str]:
        try:
            item = self._m.address.get(address_pk(self.hash(address)), ADDRESS_SK, consistent_read=True)
        except self._m.address.DoesNotExist:
            return []
        except PynamoDBException as exc:
            raise TransientFailure(f"address read failed: {exc}") from exc
        return sorted(item.owners or ())

    def engagements(self, customer_id: str, kind: str | None = None) -> list[Engagement]:
        m = self._m
        prefix = engagement_sk(kind, "") if kind else "E#"
        try:
            items = list(m.engagement.query(customer_pk(customer_id), m.engagement.sk.startswith(prefix)))
        except PynamoDBException as exc:
            raise TransientFailure(f"engagement read failed: {exc}") from exc
        found = [
            Engagement(
                key=item.sk.split("#", 2)[2],
                customer_id=customer_id,
                kind=item.engaged,
                at=datetime.fromisoformat(item.at.replace("Z", "+00:00")),
                channel=item.channel,
                request_id=item.request_id,
                value=item.value,
            )
            for item in items
        ]
        return sorted(found, key=lambda e: (e.at, e.key))

    def address_status(self, address: str) -> str | None:
        m = self._m
        try:
            status: str | None = m.address.get(address_pk(self.hash(address)), ADDRESS_SK, consistent_read=True).status
        except m.address.DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise TransientFailure(f"address read failed: {exc}") from exc
        return status

    def unsubscribe(self, customer_id: str, scope: str, now: datetime, actor: str) -> bool:
        return self._change_profile(
            customer_id,
            partial(unsubscribed, scope=scope),
            now,
            audit=(actor, {"unsubscribe": scope}),
            create=False,
        )

    def preferences(self, customer_id: str) -> Profile | None:
        """The customer's profile and preferences, or None for a customer Baton has never seen."""
        try:
            state = self._m.state.get(customer_pk(customer_id), STATE_SK, consistent_read=True)
        except self._m.state.DoesNotExist:
            return None
        return decode_profile(state.profile)

    # delivery feedback -------------------------------------------------------------------------------------
    def suppress_address(self, address: str, kind: str, now: datetime, policy: Policy) -> AddressStanding:
        m = self._m
        digest = self.hash(address)
        key = address_pk(digest)
        try:
            item = m.address.get(key, ADDRESS_SK, consistent_read=True)
        except m.address.DoesNotExist:
            item = m.address(key, ADDRESS_SK)
        held = AddressFeedback(
            item.status,
            _from_iso(item.since),
            _from_iso(item.until),
            tuple(_dt(t) for t in json.loads(item.soft_times or "[]")),
        )
        after, standing = after_feedback(held, kind, now, policy.feedback)
        if (after.status, after.since, after.until) != (held.status, held.since, held.until):
            item.status, item.since, item.until = after.status, iso(after.since), iso(after.until)
        if after.soft_times != held.soft_times:
            item.soft_times = _dumps([_ts(t) for t in after.soft_times])
        item.save()
        for owner in item.owners or ():
            state = m.state(customer_pk(owner), STATE_SK)
            if standing is AddressStanding.BLOCKED:
                actions = [m.state.blocked.add({digest}), m.state.version.add(1)]
            elif standing is AddressStanding.SOFT_BLOCKED:
                until = _from_iso(item.until) or now
                actions = [m.state.soft_blocked.add({f"{digest}@{_ts(until)}"}), m.state.version.add(1)]
            else:
                continue
            try:  # moving the version makes a decision that read the old standing re-read it
                state.update(actions=actions, condition=m.state.version.exists())
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise TransientFailure(f"ledger write failed: {exc}") from exc
        return standing

    # erasure -----------------------------------------------------------------------------------------------
    def erase(self, customer_id: str) -> int:
        """Delete every item under the customer's key (profile, ledger, requests with payloads and addresses,
        pending, audit) and the customer's id from address items; suppressed addresses stay suppressed by
        their keyed hash alone. Returns the number of items deleted."""
        m = self._m
        pk = customer_pk(customer_id)
        items = list(m.item.query(pk, consistent_read=True))
        addresses: set[str] = set()
        for item in items:
            if isinstance(item, m.state):
                addresses.update(a for a in (item.email, item.phone, item.push_endpoint) if a)
            elif isinstance(item, m.request) and item.recipient:
                addresses.add(item.recipient)
        for address in addresses:
            key = address_pk(self.hash(address))
            try:
                owner = m.address.get(key, ADDRESS_SK, consistent_read=True)
            except m.address.DoesNotExist:
                continue
            remaining = set(owner.owners or ()) - {customer_id}
            if owner.status is None and not remaining:
                owner.delete()
            elif customer_id in (owner.owners or ()):
                owner.update(actions=[m.address.owners.delete({customer_id})])
        with m.item.batch_write() as batch:
            for item in items:
                batch.delete(item)
        return len(items)
