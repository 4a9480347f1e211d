"""What filming costs, as it happens: every model call a take makes is priced (the provider's own bill where a remote
backend reports one, else the series' price table) and written to the ledger (`models.ModelCall`), and no call is
made that would cross a budget. The check and the reservation of the call's expected cost are one transaction, so
shots filmed side by side cannot overspend together.

Prices live in `series.yaml` (`costs:`), budgets too (`budget:`); see `aigms.schemas.series.Costs` and `Budget`."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from aigms.db import ledger, models
from aigms.db.session import session_scope
from aigms.schemas.errors import BudgetExceeded
from aigms.schemas.series import Price, Series

CENT = 1e-9  # a sum equal to the budget is within it; float sums of prices drift in the last places
_RESERVING = threading.Lock()  # SQLite reads before it locks; shots filmed in threads take turns to reserve


class RetakeCapReached(BudgetExceeded):
    """A retake would take retakes past their share of the episode's budget: the shot keeps its best take."""


def price_of(series: Series, spec: str) -> Price | None:
    """The price of `backend:model`, else of its backend; None when the series prices neither."""
    prices = series.costs.prices
    return prices.get(spec) or prices.get(spec.split(":", 1)[0])


def device_rate(price: Price, device: str) -> float:
    """Per hour on this device: its own entry, else `cpu` or `gpu` by what it is, else `default`."""
    rates = price.per_device_hour
    if device in rates:
        return rates[device]
    kind = "cpu" if device == "cpu" else "gpu"
    return rates.get(kind, rates.get("default", 0.0))


def call_cost(price: Price | None, video_seconds: float, device: str | None, device_seconds: float) -> float:
    if price is None:
        return 0.0
    held = device_rate(price, device) * device_seconds / 3600 if device else 0.0
    return price.per_call + price.per_second * video_seconds + held


def money(amount: float, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


# What has been spent


def spent(session: Session, *, episode_id: int | None = None, series_id: str | None = None,
          retakes_only: bool = False) -> float:
    """The ledger's sum for an episode or a series; a call in flight counts with the cost reserved for it."""
    query = select(func.coalesce(func.sum(models.ModelCall.cost), 0.0))
    if episode_id is not None:
        query = query.where(models.ModelCall.episode_id == episode_id)
    if series_id is not None:
        query = query.where(models.ModelCall.series_id == series_id)
    if retakes_only:
        query = query.where(models.ModelCall.retake.is_(True))
    return float(session.scalar(query) or 0.0)


def unfilmed_shots(session: Session, episode_id: int) -> list[str]:
    """Shots with no finished clip yet: what a stopped render leaves to do."""
    filmed = exists().where(models.Take.shot_id == models.Shot.id, models.Take.kind == models.TAKE_CLIP,
                            models.Take.status == models.TAKE_OK)
    return list(session.scalars(select(models.Shot.code).where(models.Shot.episode_id == episode_id, ~filmed)
                                .order_by(models.Shot.position)))


def _check(session: Session, series: Series, episode_id: int | None, expected: float, retake: bool,
           what: str) -> None:
    budget, currency = series.budget, series.costs.currency
    limits = []
    if budget.episode is not None and episode_id is not None:
        limits.append(("episode", budget.episode, spent(session, episode_id=episode_id)))
    if budget.series is not None:
        limits.append(("series", budget.series, spent(session, series_id=series.id)))
    for name, limit, used in limits:
        if used + expected > limit + CENT:
            unfilmed = unfilmed_shots(session, episode_id) if episode_id is not None else []
            raise BudgetExceeded(
                f"budget: the {name} has spent {money(used, currency)} of {money(limit, currency)} "
                f"({money(max(limit - used, 0.0), currency)} left) and {what} would cost {money(expected, currency)}; "
                f"{len(unfilmed)} shot(s) unfilmed{': ' + ', '.join(unfilmed) if unfilmed else ''}. Every finished "
                f"take is kept: raise budget.{name} in series.yaml, or render again with --budget-override")
    if retake and budget.retake_share is not None and budget.episode is not None and episode_id is not None:
        cap = budget.retake_share * budget.episode
        used = spent(session, episode_id=episode_id, retakes_only=True)
        if used + expected > cap + CENT:
            raise RetakeCapReached(
                f"budget: retakes have spent {money(used, currency)} of their {budget.retake_share:.0%} share "
                f"({money(cap, currency)}) of the episode's budget; {what} is not filmed")


def device_seconds_per_video_second(session: Session, backend: str, model: str) -> float | None:
    """The device-seconds one second of video has held this backend here before (None with no history): how a
    call is priced before it has run, when its device is paid by the hour."""
    calls = models.ModelCall
    held, made = session.execute(
        select(func.coalesce(func.sum(calls.device_seconds), 0.0), func.coalesce(func.sum(calls.video_seconds), 0.0))
        .where(calls.backend == backend, calls.model == model, calls.kind == models.CALL_SEGMENT,
               calls.state == models.CALL_SUCCEEDED)).one()
    return float(held) / float(made) if made else None


# A take's calls, metered


@dataclass
class Meter:
    """The ledger and the budget around the model calls of one take: each call reserves its expected cost before
    it is made (refused if it would cross a budget) and records what it really held or was billed after.

    A remote backend's call is a durable job with a ledger row of its own, under the idempotency key of the take's
    recipe and the segment (`aigms.generate.remote`): the meter reserves that very row before the job claims it,
    and prices it afterwards unless the provider billed it in money. A job already in flight or finished (a render
    resuming) was paid for when it was sent, and is not checked again."""

    engine: Engine
    series: Series
    spec: str
    backend: str
    model: str
    device: str
    take_id: int | None
    shot_id: int | None
    shot_code: str
    retake: bool
    episode_id: int | None = None
    series_id: str | None = None  # None for a shot filmed outside any recorded series (a test, a one-off)
    recipe_sha256: str = ""
    provider: str | None = None
    _rate: float | None = field(default=None, repr=False)

    @classmethod
    def for_take(cls, engine: Engine, series: Series, spec: str, backend: str, model: str, device: str,
                 take_id: int | None, shot_id: int | None, shot_code: str, recipe_sha256: str = "",
                 provider: str | None = None) -> "Meter":
        """A take is a retake when an earlier take of its shot failed, failed its checks or was rejected."""
        with session_scope(engine) as session:
            episode_id = session.scalar(select(models.Shot.episode_id).where(models.Shot.id == shot_id))
            retake = shot_id is not None and _has_failed_take(session, shot_id, take_id)
            recorded = session.get(models.Series, series.id) is not None
        return cls(engine, series, spec, backend, model, device, take_id, shot_id, shot_code, retake, episode_id,
                   series.id if recorded else None, recipe_sha256, provider)

    def _seconds_per_video_second(self, session: Session) -> float:
        if self._rate is None:
            self._rate = device_seconds_per_video_second(session, self.backend, self.model) or 0.0
        return self._rate

    def _lock(self, session: Session) -> None:
        """PostgreSQL: one reservation per episode at a time (SQLite writers already take turns)."""
        if self.episode_id is not None and session.bind.dialect.name == "postgresql":
            session.execute(select(models.Episode.id).where(models.Episode.id == self.episode_id).with_for_update())

    @contextmanager
    def call(self, kind: str, index: int | None, video_seconds: float,
             request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Reserve, call, record. The caller puts what the backend returned under `"call"` in the yielded dict;
        afterwards it holds the call's `"cost"` and `"currency"`."""
        if self.provider is not None:
            with self._remote_call(kind, index, video_seconds) as outcome:
                yield outcome
            return
        price = price_of(self.series, self.spec)
        with _RESERVING, session_scope(self.engine) as session:
            self._lock(session)
            expected = call_cost(price, video_seconds, self.device,
                                 self._seconds_per_video_second(session) * video_seconds)
            _check(session, self.series, self.episode_id, expected, self.retake, self._what(kind, index))
            row = models.ModelCall(
                take_id=self.take_id, shot_id=self.shot_id, episode_id=self.episode_id, series_id=self.series_id,
                kind=kind, segment_index=index, backend=self.backend, model=self.model, device=self.device,
                request=request, state=models.CALL_RUNNING, submitted_at=models.utcnow(), cost=expected,
                currency=self.series.costs.currency, cost_source=models.COST_PRICE_TABLE if price else models.COST_NONE,
                retake=self.retake, video_seconds=video_seconds, attempts=1)
            session.add(row)
            session.flush()
            call_id = row.id
        outcome: dict[str, Any] = {}
        started = time.perf_counter()
        state, error = models.CALL_FAILED, None
        try:
            yield outcome
            state = models.CALL_SUCCEEDED
        except BaseException as failure:
            error = f"{type(failure).__name__}: {failure}"[:2000]
            raise
        finally:
            held = time.perf_counter() - started
            with session_scope(self.engine) as session:
                row = session.get(models.ModelCall, call_id)
                row.state, row.error, row.finished_at = state, error, models.utcnow()
                row.wall_seconds = row.device_seconds = held
                row.cost = call_cost(price, video_seconds, self.device, held)
                if "call" in outcome:
                    row.request = {**request, **_json_safe(outcome["call"])}
                outcome["cost"], outcome["currency"] = row.cost, row.currency

    @contextmanager
    def _remote_call(self, kind: str, index: int | None, video_seconds: float) -> Iterator[dict[str, Any]]:
        price = price_of(self.series, self.spec)
        key = ledger.idempotency_key(self.recipe_sha256, kind, index)
        calls = models.ModelCall
        with _RESERVING, session_scope(self.engine) as session:
            self._lock(session)
            row = session.scalar(select(calls).where(calls.idempotency_key == key))
            if row is None or row.state in (models.CALL_FAILED, models.CALL_CANCELLED, models.CALL_INTERRUPTED):
                expected = remote_cost(price, None, None, video_seconds)
                _check(session, self.series, self.episode_id, expected, self.retake, self._what(kind, index))
                if row is None:
                    row = calls(idempotency_key=key, state=models.CALL_PENDING, take_id=self.take_id,
                                shot_id=self.shot_id, episode_id=self.episode_id, series_id=self.series_id, kind=kind,
                                segment_index=index, backend=self.backend, model=self.model, provider=self.provider,
                                request={}, retake=self.retake)
                    session.add(row)
                row.cost, row.currency, row.video_seconds = expected, self.series.costs.currency, video_seconds
                row.cost_source = models.COST_PRICE_TABLE if price else models.COST_NONE
        outcome: dict[str, Any] = {}
        try:
            yield outcome
        finally:
            with session_scope(self.engine) as session:
                row = session.scalar(select(calls).where(calls.idempotency_key == key))
                if row.cost_source != models.COST_PROVIDER or row.cost is None:
                    made = row.state == models.CALL_SUCCEEDED or row.billed_units is not None
                    row.cost = remote_cost(price, row.billed_units, row.unit, video_seconds) if made else 0.0
                    row.currency = self.series.costs.currency
                outcome["cost"], outcome["currency"] = row.cost, row.currency

    def _what(self, kind: str, index: int | None) -> str:
        return f"shot {self.shot_code} {kind}" + (f" {index + 1}" if index is not None else "")


def remote_cost(price: Price | None, billed_units: float | None, unit: str | None, video_seconds: float) -> float:
    """A provider's bill in money: its own units (Kling's credits) at the table's price per unit where it reports
    them, else the seconds of video it made (or was asked for) at the price per second."""
    if price is None:
        return 0.0
    if billed_units is not None and unit not in (None, "seconds"):
        return price.per_call + price.per_unit * billed_units
    seconds = billed_units if billed_units is not None and unit == "seconds" else video_seconds
    return price.per_call + price.per_second * seconds


def _json_safe(call: Any) -> dict[str, Any]:
    return call if isinstance(call, dict) else {"result": str(call)}


def _has_failed_take(session: Session, shot_id: int, take_id: int | None) -> bool:
    takes = models.Take
    failed_qc = exists().where(models.QCResult.take_id == takes.id, models.QCResult.passed.is_(False))
    rejected = exists().where(models.Retake.rejected_take_id == takes.id)
    query = select(takes.id).where(takes.shot_id == shot_id, takes.kind == models.TAKE_CLIP,
                                   or_(takes.status == models.TAKE_FAILED, failed_qc, rejected))
    if take_id is not None:
        query = query.where(takes.id != take_id)
    return session.scalar(query.limit(1)) is not None

