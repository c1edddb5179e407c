"""Decision preview: would this request be sent now, and if not, which rule stops it, at what counts, and when
would it fit? The real engine on the customer's real ledger, with nothing recorded and nothing sent.

The preview follows the request forward on the assumption that nothing else arrives: a request held for its
arbitration window is settled when the window closes, one deferred by quiet hours or a cap is settled at its
release. Each step is one decision the engine would make.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from baton.app.arbiter import arrival_of, domain_request
from baton.app.fleet import optimises
from baton.app.holdout import held_out
from baton.app.ports import Ledger, RequestRecord
from baton.app.render import Renderer
from baton.contract import MessageRequested, parse_detail
from baton.core.domain import CapCount, Outcome
from baton.core.engine import arbitrate, capacity_frees
from baton.core.policy import Policy

MAX_STEPS = 8  # arbitration window, quiet hours, a cap or two: a request rarely needs more than four


@dataclass(frozen=True, slots=True)
class Step:
    at: datetime
    outcome: Outcome
    reason: str
    detail: str
    counts: Mapping[str, CapCount]
    release_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "outcome": self.outcome.value,
            "reason": self.reason,
            "detail": self.detail,
            "counts": {name: {"count": c.count, "limit": c.limit} for name, c in self.counts.items()},
            "release_at": self.release_at.isoformat() if self.release_at else None,
        }


@dataclass(frozen=True, slots=True)
class Preview:
    request_id: str
    customer_id: str
    policy: str
    at: datetime
    steps: tuple[Step, ...] = ()
    fits_at: datetime | None = None  # ends suppressed by a cap: when it would fit, if nothing else is sent
    known: RequestRecord | None = None  # the request_id is already recorded: it would not be decided again

    @property
    def final(self) -> Step | None:
        return self.steps[-1] if self.steps else None

    def as_json(self) -> dict[str, Any]:
        final = self.final
        return {
            "request_id": self.request_id,
            "customer_id": self.customer_id,
            "policy": self.policy,
            "at": self.at.isoformat(),
            "would_send_now": bool(final and final.outcome is Outcome.SENT and final.at == self.at),
            "outcome": final.outcome.value if final else None,
            "reason": final.reason if final else None,
            "steps": [step.as_json() for step in self.steps],
            "fits_at": self.fits_at.isoformat() if self.fits_at else None,
            "already_recorded": None
            if self.known is None
            else {"status": self.known.status, "reason": self.known.reason},
        }


def preview(
    ledger: Ledger,
    policy: Policy,
    detail: Any,
    now: datetime,
    renderer: Renderer | None = None,
    holdout_key: bytes | None = None,
) -> Preview:
    """Decide ``detail`` (a MessageRequested detail) as Baton would at ``now``, recording nothing; the holdout
    group assigned with ``holdout_key`` as the arbiter assigns it. Raises InvalidRequest, naming the field, for a
    request Baton would reject."""
    message: MessageRequested = parse_detail(MessageRequested, detail)
    if message.template is not None:
        for channel in message.listed:
            (renderer or Renderer()).render(message.template, channel.value, message.data)
    snapshot = ledger.load(message.customer_id, message.request_id, message.recipient, consistent=True)
    base = Preview(request_id=message.request_id, customer_id=message.customer_id, policy=policy.tag, at=now)
    if snapshot.existing is not None:
        return replace(base, known=snapshot.existing)
    arrival = arrival_of(message, "", snapshot)
    request = domain_request(message, now, arrival.recipient, snapshot, arrival.candidates)
    state, arrivals, at = snapshot.ledger, [request], now
    holdout = held_out(policy, holdout_key, message.customer_id, message.category, message.transactional)
    steps: list[Step] = []
    fleet = ledger.fleet_histogram().hours if optimises(policy, {message.category}) else ()
    for _ in range(MAX_STEPS):
        verdict = arbitrate(policy, state, arrivals, at, held_out=holdout, fleet=fleet)
        state, arrivals = verdict.ledger, []
        decision = verdict.for_request(request.request_id)
        if decision is not None:
            step = Step(at, decision.outcome, decision.reason, decision.detail, decision.counts, decision.release_at)
            steps.append(step)
            if decision.outcome is not Outcome.DEFERRED:
                break
        waiting = next((p.due_at for p in state.pending if p.request.request_id == request.request_id), None)
        if waiting is None:
            break
        at = max(waiting, at)
    fits_at = None
    final = steps[-1] if steps else None
    if final is not None and final.outcome is Outcome.SUPPRESSED and final.counts:
        fits_at = capacity_frees(policy, state, request, final.at)
    return replace(base, steps=tuple(steps), fits_at=fits_at)
