"""The ledger of model calls (`models.ModelCall`): every keyframe, segment and lip sync a render asked of a model,
what it held (device-seconds) or was billed (units, cost), and, for a remote job, the provider's task it is
waiting on. A remote call is claimed here before its request leaves the machine, under an idempotency key, so two
renders (or one render and its resumption) never pay for the same segment twice."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aigms.db import models
from aigms.db.session import session_scope


def idempotency_key(recipe_sha256: str, kind: str, segment_index: int | None = None) -> str:
    """One key per model call a take makes: its recipe names everything that decides the call."""
    return f"{recipe_sha256}:{kind}:{segment_index if segment_index is not None else '-'}"


def claim(engine: Engine, key: str, **fields: Any) -> models.ModelCall:
    """The call under `key`: the one already recorded (by an earlier run, or a render beside this one), else a new
    pending row with `fields`. Committed before returning, so the claim survives the process."""
    with session_scope(engine) as session:
        found = session.scalar(select(models.ModelCall).where(models.ModelCall.idempotency_key == key))
        if found is not None:
            return found
    try:
        with session_scope(engine) as session:
            call = models.ModelCall(idempotency_key=key, state=models.CALL_PENDING, **fields)
            session.add(call)
            session.flush()
            return call
    except IntegrityError:  # another render claimed it between our read and our write
        with session_scope(engine) as session:
            return session.scalars(select(models.ModelCall).where(models.ModelCall.idempotency_key == key)).one()


def update(engine: Engine, call_id: int, **fields: Any) -> models.ModelCall:
    """One change of a call (submitted, its task id, finished, its cost), in its own transaction."""
    with session_scope(engine) as session:
        call = session.get(models.ModelCall, call_id)
        for name, value in fields.items():
            setattr(call, name, value)
        session.flush()
        return call


def begin_submission(engine: Engine, call_id: int, attempts: int, task_id: str | None = None) -> bool:
    """Count a submission about to be sent, unless another render counted it first (compare and set on
    `attempts`): of two renders resuming one take, only one sends the request. `task_id` is the id the caller
    gives the task before sending it, where the provider lets it choose (ComfyUI's prompt id)."""
    fields: dict[str, Any] = {"attempts": attempts + 1, "submitted_at": models.utcnow()}
    if task_id is not None:
        fields["provider_task_id"] = task_id
    with session_scope(engine) as session:
        changed = session.execute(
            sql_update(models.ModelCall)
            .where(models.ModelCall.id == call_id, models.ModelCall.attempts == attempts)
            .values(**fields))
        return changed.rowcount == 1


def record(session: Session, **fields: Any) -> models.ModelCall:
    """A call that is over as it is recorded (a local model's segment): one row, in the caller's transaction."""
    fields.setdefault("state", models.CALL_SUCCEEDED)
    fields.setdefault("finished_at", models.utcnow())
    call = models.ModelCall(**fields)
    session.add(call)
    session.flush()
    return call


def get(engine: Engine, call_id: int) -> models.ModelCall | None:
    with session_scope(engine) as session:
        return session.get(models.ModelCall, call_id)


def jobs(session: Session, recent: timedelta = timedelta(days=1),
         limit: int = 200) -> list[tuple[models.ModelCall, str | None]]:
    """Remote jobs still open, and those made within `recent`, newest first, each with its shot's code."""
    since = datetime.now(UTC) - recent
    query = (select(models.ModelCall, models.Shot.code)
             .outerjoin(models.Shot, models.Shot.id == models.ModelCall.shot_id)
             .where(models.ModelCall.provider.is_not(None))
             .where(or_(models.ModelCall.state.in_(models.CALL_OPEN), models.ModelCall.created_at >= since))
             .order_by(models.ModelCall.created_at.desc(), models.ModelCall.id.desc())
             .limit(limit))
    return [(call, code) for call, code in session.execute(query)]


def for_takes(session: Session, take_ids: list[int]) -> dict[int, list[models.ModelCall]]:
    """Each take's calls in the order they were made; one query for any number of takes."""
    calls: dict[int, list[models.ModelCall]] = {take_id: [] for take_id in take_ids}
    if take_ids:
        query = (select(models.ModelCall).where(models.ModelCall.take_id.in_(take_ids))
                 .order_by(models.ModelCall.kind, models.ModelCall.segment_index, models.ModelCall.id))
        for call in session.scalars(query):
            calls[call.take_id].append(call)
    return calls


def as_dict(call: models.ModelCall) -> dict[str, Any]:
    """What a take's recipe and a manifest say of a call: the request as sent, the task, the bill."""
    return {
        "kind": call.kind, "segment": call.segment_index, "backend": call.backend, "model": call.model,
        "provider": call.provider, "device": call.device, "endpoint": call.endpoint, "request": call.request,
        "task_id": call.provider_task_id, "state": call.state, "attempts": call.attempts,
        "wall_seconds": call.wall_seconds, "device_seconds": call.device_seconds,
        "billed_units": call.billed_units, "unit": call.unit, "cost": call.cost, "currency": call.currency,
        "cost_source": call.cost_source,
    }
