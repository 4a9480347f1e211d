"""What filming costs: every model call priced into the ledger, to the cent; an estimate from the shot list and
this series' own retake history; a budget that stops a render before the call that would cross it, and a render
that goes on, filming nothing twice, once the budget is raised."""

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from aigms.cli import app
from aigms.dashboard.app import Settings, create_app, new_secret
from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production.bible import load_series
from aigms.production.generate.takes import render_shot, take_seed
from aigms.production.review import REJECT, Reviewer, people, review_take, with_retake_notes
from aigms.production.storyboard.estimate import estimate_episode
from aigms.production.storyboard.ingest import IngestReport, ingest_episode, ingest_series, load_shotlist, read_episode
from aigms.schemas.series import GeneratorSettings, Price
from builders import draw_figure, draw_plate

pytestmark = pytest.mark.database

PER_CALL, PER_SECOND = 0.10, 0.35  # CNY: a call, and a second of video

SCRIPT = """Title: Priced

EXT. LAB - DAY

Lin crosses the lab to the bench.

The bronze mask turns slowly under the lamp.

Kai drifts past the window.
"""


def write_series(root: Path, budget: str = "") -> Path:
    """A three-shot series filmed by the metered test backend, priced per call and per second of video."""
    draw_plate(root / "bible" / "lab.png", (30, 90, 140))
    draw_figure(root / "bible" / "lin.png", (220, 40, 40))
    (root / "episodes").mkdir(parents=True, exist_ok=True)
    (root / "episodes" / "e01.fountain").write_text(SCRIPT)
    (root / "series.yaml").write_text(f"""id: priced
title: Priced
language: en
delivery: {{width: 160, height: 90, fps: 24}}
characters:
  lin: {{name: LIN, references: [bible/lin.png]}}
locations:
  lab: {{name: LAB, references: [bible/lab.png]}}
generator:
  backend: metered
  seed: 1
  options: {{log: {root / "calls.log"}, retries: 0}}
storyboard: {{rules: [action_coverage]}}
qc: {{enabled: false}}
costs:
  currency: CNY
  prices:
    metered: {{per_call: {PER_CALL}, per_second: {PER_SECOND}}}
    animatic: {{per_device_hour: {{cpu: 36.0}}}}
{budget}
episodes:
  - {{id: e01, script: episodes/e01.fountain}}
""")
    return root


def billed(root: Path) -> list[dict]:
    """The calls as the backend counted them."""
    log = root / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def ingested(series_dir: Path, database_url: str):
    series = load_series(series_dir)
    engine = open_database(database_url)
    with session_scope(engine) as session:
        report = IngestReport()
        ingest_series(session, series, report)
        episode = ingest_episode(session, series, read_episode(series, "e01"), report)
        shotlist = load_shotlist(session, episode)
        rows = {shot.code: shot.id for shot in episode.shots}
    return series, engine, shotlist, rows


def ledger_total(engine) -> tuple[int, float]:
    with session_scope(engine) as session:
        count, total = session.execute(select(func.count(), func.sum(models.ModelCall.cost))).one()
        return count, float(total or 0.0)


def test_the_ledger_sums_to_what_the_provider_counted_to_the_cent(tmp_path: Path, database_url: str) -> None:
    series, engine, shotlist, rows = ingested(write_series(tmp_path / "series"), database_url)
    for shot in shotlist.shots:
        render_shot(engine, tmp_path / "store", series, shot, rows[shot.id])
    calls = billed(tmp_path / "series")
    expected = sum(PER_CALL + PER_SECOND * call["frames"] / call["fps"] for call in calls)
    count, total = ledger_total(engine)
    assert len(calls) > len(shotlist.shots)  # the shots are continuation chains: several calls each
    assert count == len(calls)
    assert round(total, 2) == round(expected, 2)
    with session_scope(engine) as session:
        row = session.scalars(select(models.ModelCall)).first()
        assert (row.backend, row.device, row.state, row.currency, row.cost_source) == (
            "metered", "cpu", models.CALL_SUCCEEDED, "CNY", models.COST_PRICE_TABLE)
        take = session.get(models.Take, row.take_id)
        assert sum(call["cost"] for call in take.recipe["calls"]) == pytest.approx(
            sum(other.cost for other in session.scalars(select(models.ModelCall).filter_by(take_id=take.id))))


def test_the_animatic_is_priced_by_the_cpu_seconds_it_held(tmp_path: Path, database_url: str) -> None:
    series_dir = write_series(tmp_path / "series")
    series, engine, shotlist, rows = ingested(series_dir, database_url)
    series.generator.backend = "animatic"
    render_shot(engine, tmp_path / "store", series, shotlist.shots[0], rows[shotlist.shots[0].id])
    with session_scope(engine) as session:
        (call,) = session.scalars(select(models.ModelCall)).all()
        assert (call.backend, call.device) == ("animatic", "cpu")
        assert call.device_seconds > 0
        assert call.cost == pytest.approx(36.0 * call.device_seconds / 3600)
        assert call.video_seconds == pytest.approx(shotlist.shots[0].duration)


def test_an_estimate_counts_the_retakes_this_series_history_leads_to_expect(tmp_path: Path, database_url: str) -> None:
    series, engine, shotlist, rows = ingested(write_series(tmp_path / "series"), database_url)
    series.qc.enabled, series.qc.retakes = True, 3
    series.costs.prices["metered"] = Price(per_call=1.0, per_second=0.5)
    with session_scope(engine) as session:  # four takes filmed before, one of which failed its checks
        for number in range(4):
            take = models.Take(shot_id=rows[shotlist.shots[0].id], recipe_sha256=f"{number:064d}", recipe={},
                               generator="metered", seed=number, status=models.TAKE_OK)
            session.add(take)
            session.flush()
            session.add(models.QCResult(take_id=take.id, check="identity", score=0.2 if number == 0 else 0.9,
                                        threshold=0.5, passed=number != 0))
    with session_scope(engine) as session:
        estimate = estimate_episode(session, series, shotlist, takes=1)
    per_take = sum(1.0 * len(shot.segments or [shot]) + 0.5 * shot.duration for shot in shotlist.shots)
    assert estimate.retake_rates == {"metered": 0.25}
    assert estimate.low == pytest.approx(per_take)
    assert estimate.expected == pytest.approx(per_take * (1 + 0.25 + 0.25 ** 2))
    assert estimate.high == pytest.approx(per_take * 3)


def test_a_render_stops_before_the_call_that_would_cross_its_budget_and_goes_on_once_it_is_raised(
        tmp_path: Path, database_url: str, prefect: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGMS_DATABASE_URL", database_url)
    monkeypatch.setenv("AIGMS_WHISPER", "none")
    series_dir = write_series(tmp_path / "series", budget="budget: {episode: 1.0}")
    command = ["render", "e01", "--series", str(series_dir), "--force", "--home", str(tmp_path / "home"),
               "--out", str(tmp_path / "out")]

    stopped = CliRunner().invoke(app, command)
    assert stopped.exit_code == 1, stopped.output
    assert "budget: the episode has spent" in stopped.output and "unfilmed" in stopped.output
    made = billed(series_dir)
    spent = sum(PER_CALL + PER_SECOND * call["frames"] / call["fps"] for call in made)
    refused = re.search(r"has\s+spent\s+([\d.]+)\s+CNY.*?would\s+cost\s+([\d.]+)\s+CNY", stopped.output, re.S)
    spent_then, refused_call = float(refused[1]), float(refused[2])
    # the message's figures are to the cent: what was spent, and the call refused, the one that would cross
    assert spent_then == pytest.approx(spent, abs=0.005) and spent <= 1.0 < spent + refused_call + 0.005
    engine = open_database(database_url)
    assert round(ledger_total(engine)[1], 2) == round(spent, 2)
    assert not (tmp_path / "out" / "priced" / "e01" / "episode.mp4").exists()

    (series_dir / "series.yaml").write_text((series_dir / "series.yaml").read_text().replace(
        "budget: {episode: 1.0}", "budget: {episode: 100.0}"))
    finished = CliRunner().invoke(app, command)
    assert finished.exit_code == 0, finished.output
    every = [(call["shot"], call["index"]) for call in billed(series_dir)]
    assert len(every) == len(set(every))  # nothing filmed twice
    assert len(every) > len(made)
    assert (tmp_path / "out" / "priced" / "e01" / "episode.mp4").is_file()
    manifest = json.loads((tmp_path / "out" / "priced" / "e01" / "manifest.json").read_text())
    assert manifest["currency"] == "CNY"
    assert sum(shot["cost"] for shot in manifest["shots"]) == pytest.approx(manifest["spent"])


def test_budget_override_films_past_the_budget(tmp_path: Path, database_url: str,
                                               prefect: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGMS_DATABASE_URL", database_url)
    monkeypatch.setenv("AIGMS_WHISPER", "none")
    series_dir = write_series(tmp_path / "series", budget="budget: {episode: 0.5}")
    done = CliRunner().invoke(app, ["render", "e01", "--series", str(series_dir), "--force", "--budget-override",
                                    "--home", str(tmp_path / "home"), "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert ledger_total(open_database(database_url))[1] > 0.5


def test_cost_report_breaks_out_retakes_and_rejected_takes(tmp_path: Path, database_url: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGMS_DATABASE_URL", database_url)
    series_dir = write_series(tmp_path / "series")
    series, engine, shotlist, rows = ingested(series_dir, database_url)
    shot = shotlist.shots[0]
    first = render_shot(engine, tmp_path / "store", series, shot, rows[shot.id]).selected
    first_cost = ledger_total(engine)[1]
    with session_scope(engine) as session:
        review_take(session, Reviewer("wang", "director"), first.take_id, REJECT, "slower, please")
        again = with_retake_notes(session, shotlist, rows).shots[0]
    second = render_shot(engine, tmp_path / "store", series, again, rows[shot.id]).selected
    assert second.take_id != first.take_id
    total = ledger_total(engine)[1]
    with session_scope(engine) as session:
        assert {call.retake for call in session.scalars(select(models.ModelCall).filter_by(
            take_id=second.take_id))} == {True}

    shown = CliRunner().invoke(app, ["cost", "report", "--series", str(series_dir), "--home", str(tmp_path / "home")],
                               terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert (f"spent {total:,.2f} CNY in {len(billed(series_dir))} calls ({total - first_cost:,.2f} CNY on retakes, "
            f"{first_cost:,.2f} CNY on rejected takes)") in " ".join(shown.output.split())
    assert "spent per shot" in shown.output and "metered" in shown.output


def test_the_dashboard_shows_each_episodes_spend_against_its_estimate(tmp_path: Path, database_url: str) -> None:
    series, engine, shotlist, rows = ingested(write_series(tmp_path / "series", "budget: {episode: 20.0}"),
                                              database_url)
    render_shot(engine, tmp_path / "store", series, shotlist.shots[0], rows[shotlist.shots[0].id])
    with session_scope(engine) as session:
        people.add_user(session, "mei", "director", "a long pass phrase")
    client = TestClient(create_app(Settings(database_url, tmp_path / "store", new_secret())))
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"csrftoken": token, "name": "mei", "password": "a long pass phrase"})
    page = client.get("/costs/priced")
    assert page.status_code == 200, page.text
    spent = ledger_total(engine)[1]
    assert f"{spent:,.2f} CNY" in page.text
    assert f"{spent / 20.0:.0%}" in page.text
    assert "<svg" in page.text and "e01" in page.text
    assert client.get("/costs/nobody").status_code == 404


def test_past_their_share_of_the_budget_retakes_stop_and_the_shot_keeps_its_best_take(
        tmp_path: Path, database_url: str) -> None:
    series, engine, shotlist, rows = ingested(write_series(tmp_path / "series", "budget: {episode: 10.0, "
                                                           "retake_share: 0.15}"), database_url)
    shot = shotlist.shots[0].model_copy(update={"location": None, "characters": []})
    series.qc.enabled, series.qc.retakes = True, 4
    series.generator = GeneratorSettings(backend="testcard", seed=7, options={"good_seed": take_seed(7, shot.id, 3)})
    series.costs.prices["testcard"] = Price(per_call=1.0)
    result = render_shot(engine, tmp_path / "store", series, shot, rows[shot.id])
    assert len(result.takes) == 2  # the first take, and one retake of 1.00 within the 1.50 retakes may spend
    assert any("retakes have spent 1.00 CNY of their 15% share (1.50 CNY)" in failure for failure in result.failures)
    with session_scope(engine) as session:
        assert [call.retake for call in session.scalars(select(models.ModelCall).order_by(models.ModelCall.id))] == [
            False, True]
