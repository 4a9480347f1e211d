"""The ledger of model calls: one row per call, claimed under an idempotency key before a paid request is sent,
so a second claim of the same segment finds the first row instead of making a second call."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from aigms.db import ledger, models
from aigms.db.session import open_database, session_scope

pytestmark = pytest.mark.database


def test_a_second_claim_of_a_segment_finds_the_first(database_url: str) -> None:
    engine = open_database(database_url)
    key = ledger.idempotency_key("a" * 64, models.CALL_SEGMENT, 2)
    first = ledger.claim(engine, key, backend="kling", model="kling-v2-1", provider="kling", segment_index=2)
    ledger.update(engine, first.id, state=models.CALL_SUBMITTED, provider_task_id="task-1")
    second = ledger.claim(engine, key, backend="kling", model="kling-v2-1", provider="kling", segment_index=2)
    assert (second.id, second.state, second.provider_task_id) == (first.id, models.CALL_SUBMITTED, "task-1")
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.ModelCall)) == 1


def test_the_database_refuses_two_calls_under_one_key(database_url: str) -> None:
    engine = open_database(database_url)
    with pytest.raises(IntegrityError):
        with session_scope(engine) as session:
            for _ in range(2):
                session.add(models.ModelCall(idempotency_key="k", backend="kling", request={}))
            session.flush()


def test_jobs_lists_open_remote_calls_and_recent_ones_but_not_local_calls(database_url: str) -> None:
    engine = open_database(database_url)
    with session_scope(engine) as session:
        ledger.record(session, backend="animatic", device="cpu", device_seconds=0.5, request={})
        old = ledger.record(session, backend="kling", provider="kling", request={})
        old.created_at = models.utcnow() - timedelta(days=3)
        waiting = models.ModelCall(backend="kling", provider="kling", state=models.CALL_RUNNING, request={},
                                   created_at=models.utcnow() - timedelta(days=5))
        session.add(waiting)
        done = ledger.record(session, backend="comfyui", provider="127.0.0.1:8188", request={}, cost=0.0)
        session.flush()
        assert [(call.id, shot) for call, shot in ledger.jobs(session)] == [(done.id, None), (waiting.id, None)]
