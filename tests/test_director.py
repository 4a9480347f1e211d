"""The director's loop through the JSON API and its forms, on the example series recorded in a real database (not
filmed: the takes are rows, their clips need not exist for these answers): circling a take, notes at a frame, more
takes and retakes with changes validated as a shot list import, film jobs handed to a real Prefect server as
deployment runs, refused while the same shot is being filmed, the shot list table, dailies, and who may do what.
Filming itself, the local worker and the pages in a browser are in tests/test_dashboard_browser.py."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from aigms.cli import app as cli
from aigms.dashboard.app import Settings, create_app, new_secret
from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production import progress
from aigms.production.bible import load_series
from aigms.production.review import film_jobs, people, with_retake_notes
from aigms.production.review.reviews import Reviewer
from aigms.production.storyboard.approval import approve_shotlist
from aigms.production.storyboard.ingest import IngestReport, ingest_episode, ingest_series, read_episode
from aigms.schemas.shotlist import EDITABLE, Shot, ShotList
from databases import copy_database, fresh_database_url
from episode import PASSWORDS, ROLES, small_copy

pytestmark = pytest.mark.database

ARTIST = "lee"


@pytest.fixture(scope="module")
def deployment(prefect: None) -> str:
    """The film-job deployment `aigms serve` registers, on the session's Prefect server; nothing runs its flow runs
    here, so a job handed to it stays queued for the test to look at."""
    from prefect.settings import PREFECT_API_URL

    from aigms.flows.film_job import DEPLOYMENT, film_job

    film_job.to_deployment(name=DEPLOYMENT, _sync=True).apply(_sync=True)
    return PREFECT_API_URL.value()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """s01e02 planned and recorded, its shot list approved, four people, three takes of shot 030 (48 frames each):
    made once, and copied for each test (`studio`); four argon2 hashes and a recording cost ~0.5 s a test."""
    root = tmp_path_factory.mktemp("director")
    series = load_series(small_copy(root / "series"))
    database_url = fresh_database_url(root)
    engine = open_database(database_url)
    with session_scope(engine) as session:
        report = IngestReport()
        ingest_series(session, series, report)
        episode = ingest_episode(session, series, read_episode(series, "s01e02"), report)
        approve_shotlist(session, episode, "mei")
        for name, password in PASSWORDS.items():
            people.add_user(session, name, ROLES[name], password)
        shot = next(row for row in episode.shots if row.code == "030")
        take_ids = []
        for seed in range(3):
            asset = models.Asset(sha256=f"{seed + 1:064x}", kind="clip", path=f"{seed}.mp4", size=1,
                                 media={"duration": 1.6, "frames": 48, "fps": 30})
            session.add(asset)
            session.flush()
            take = models.Take(shot_id=shot.id, recipe_sha256=f"{seed + 10:064x}", generator="animatic", seed=seed,
                               recipe={"shot": Shot.model_validate(shot.spec).filmed()}, status=models.TAKE_OK,
                               asset_id=asset.id)
            session.add(take)
            session.flush()
            take_ids.append(take.id)
        shot.selected_take_id = take_ids[0]
        ids = {"episode": episode.id, "shot": shot.id, "takes": take_ids,
               "other_shot": next(row.id for row in episode.shots if row.code == "050")}
    engine.dispose()  # a PostgreSQL database is copied as a template, which nobody may be connected to
    return {"url": database_url, **ids}


@pytest.fixture
def studio(recorded: dict, tmp_path: Path) -> dict:
    database_url = copy_database(recorded["url"], tmp_path)
    return {**recorded, "engine": open_database(database_url), "url": database_url, "tmp": tmp_path}


def client_for(studio: dict, prefect_api_url: str | None, name: str) -> TestClient:
    client = TestClient(create_app(Settings(studio["url"], studio["tmp"] / "store", new_secret(),
                                            out=studio["tmp"] / "out", prefect_api_url=prefect_api_url)))
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    signed = client.post("/login", data={"csrftoken": token, "name": name, "password": PASSWORDS[name], "next": "/"},
                         follow_redirects=False)
    assert signed.status_code == 303
    client.headers["x-csrftoken"] = client.cookies["csrftoken"]
    return client


@pytest.fixture
def director(studio: dict, deployment: str) -> TestClient:
    return client_for(studio, deployment, "mei")


def rows(studio: dict, model: type, **where: object) -> list:
    with session_scope(studio["engine"]) as session:
        return list(session.scalars(select(model).filter_by(**where)))


def test_circling_a_take_selects_it_for_the_cut_without_approving_the_shot(studio: dict, director: TestClient) -> None:
    second = studio["takes"][1]
    answer = director.post(f"/api/takes/{second}/circle", json={"note": "the light on her face"})
    assert answer.status_code == 200, answer.text
    circled = answer.json()
    assert (circled["review"]["status"], circled["review"]["author"]) == ("circled", "mei")
    assert circled["cut"]["shots"] == [] and circled["cut"]["status"] == models.RUN_QUEUED
    [shot] = rows(studio, models.Shot, id=studio["shot"])
    assert (shot.selected_take_id, shot.status) == (second, models.STATUS_TODO)
    assert [(c.take_id, c.circled_by) for c in rows(studio, models.CircledTake)] == [(second, "mei")]
    detail = director.get(f"/api/shots/{studio['shot']}").json()
    assert [t["id"] for t in detail["takes"] if t["circled"]] == [second]
    assert [t["review_status"] for t in detail["takes"]] == [None, None, None]


def test_a_film_job_becomes_a_prefect_deployment_run_when_a_server_is_configured(studio: dict,
                                                                                 director: TestClient) -> None:
    from prefect.client.orchestration import get_client

    answer = director.post(f"/api/episodes/{studio['episode']}/film", json={"scope": "scene", "scene": 2, "takes": 2})
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert (run["status"], run["started_by"], run["takes"], run["scope"]) == ("queued", "mei", 2, "scene 2")
    assert run["shots"] and run["flow_run_id"]
    with get_client(sync_client=True) as prefect_client:
        flow_run = prefect_client.read_flow_run(run["flow_run_id"])
        deployment = prefect_client.read_deployment(flow_run.deployment_id)
    assert (deployment.name, flow_run.parameters) == ("dashboard", {"run_id": run["id"]})
    assert director.get(f"/api/runs/{run['id']}").json()["progress"]["summary"] == "waiting for a worker"


def test_a_second_start_of_the_same_shot_is_refused_while_one_runs(studio: dict, director: TestClient) -> None:
    first = director.post(f"/api/shots/{studio['shot']}/more-takes", json={"takes": 2})
    assert first.status_code == 200, first.text
    again = director.post(f"/api/shots/{studio['shot']}/more-takes", json={"takes": 1})
    assert again.status_code == 409
    assert re.search(rf"shot 030 of s01e02 is being made by render run {first.json()['run']['id']} \(shot 030, "
                     r"started by mei at \d\d:\d\d:\d\d\): wait for it to finish", again.json()["detail"])
    whole = director.post(f"/api/episodes/{studio['episode']}/film", json={"scope": "episode"})
    assert whole.status_code == 409
    other = director.post(f"/api/shots/{studio['other_shot']}/more-takes", json={"takes": 1})
    assert other.status_code == 200, other.text
    assert len(rows(studio, models.Retake)) == 2, "the refused request left nothing behind"
    assert first.json()["run"]["takes"] == 5, "three takes of this version were filmed: two more is five"


def test_a_note_at_a_frame_is_a_marker_and_a_rejection_there_says_where_in_the_prompt(studio: dict,
                                                                                   director: TestClient) -> None:
    take = studio["takes"][0]
    remark = director.post(f"/api/takes/{take}/notes", json={
        "note": "the lamp flickers", "frame": 12, "region": {"x": 0.05, "y": 0.1, "w": 0.2, "h": 0.2}})
    assert remark.status_code == 200, remark.text
    assert (remark.json()["status"], remark.json()["frame"], remark.json()["region"]["w"]) == ("note", 12, 0.2)
    rejected = director.post(f"/api/takes/{take}/notes", json={
        "note": "Lin should look up", "frame": 24, "region": {"x": 0.6, "y": 0.6, "w": 0.3, "h": 0.3},
        "decision": "reject"})
    assert rejected.status_code == 200, rejected.text
    [retake] = rows(studio, models.Retake)
    assert retake.note == "at 0.80 s (frame 24), bottom right: Lin should look up"
    page = director.get(f"/shots/{studio['shot']}").text
    assert re.search(r'class="marker marker-note" data-frame="12"\s+data-region="{&#34;h&#34;', page)
    assert 'class="marker marker-retake" data-frame="24"' in page
    [shot] = rows(studio, models.Shot, id=studio["shot"])
    listed = ShotList(series="bronze-echoes", episode="s01e02", language="zh", fps=30,
                      shots=[Shot.model_validate(shot.spec)])
    with session_scope(studio["engine"]) as session:
        prompt = with_retake_notes(session, listed, {"030": shot.id}).shots[0].prompt
    assert prompt.endswith("- at 0.80 s (frame 24), bottom right: Lin should look up")
    assert "lamp flickers" not in prompt, "a remark decides nothing, so it stays out of the prompt"
    outside = director.post(f"/api/takes/{take}/notes", json={"note": "after the end", "frame": 48})
    assert outside.status_code == 400 and "frames 0–47" in outside.json()["detail"]


def test_a_retake_with_changes_is_checked_as_a_shot_list_import_row(studio: dict, director: TestClient) -> None:
    shot = studio["shot"]
    bad_size = director.post(f"/api/shots/{shot}/retake", json={"changes": {"size": "huge"}})
    assert bad_size.status_code == 400
    assert bad_size.json()["detail"].startswith("shot 030 of s01e02: shot 030: size: Input should be 'ECU'")
    assert bad_size.json()["detail"].endswith("see `aigms schema shot-edit` for the allowed values")
    stranger = director.post(f"/api/shots/{shot}/retake", json={"changes": {"characters": "lin-yue ghost"}})
    assert stranger.status_code == 400 and "no character ghost in the bible" in stranger.json()["detail"]
    assert rows(studio, models.Retake) == []
    done = director.post(f"/api/shots/{shot}/retake", json={"changes": {"size": "ECU", "note": "hold on her eyes"}})
    assert done.status_code == 200, done.text
    asked = done.json()
    assert asked["retake"]["changes"]["size"][1] == "ECU"
    assert asked["retake"]["changes"]["note"] == ["", "hold on her eyes"]
    assert asked["run"]["shots"] == ["030"]
    [row] = rows(studio, models.Shot, id=shot)
    assert (row.spec["size"], row.spec["note"], row.overrides["size"]) == ("ECU", "hold on her eyes", "ECU")
    [episode] = rows(studio, models.Episode, id=studio["episode"])
    assert episode.shotlist_approved, "a director's change to an approved shot list signs it again"
    assert [r.note for r in rows(studio, models.Review, target_type="shotlist")][-1] == "with the change to shot 030"


def test_an_artists_change_waits_for_a_directors_approval_before_filming(studio: dict, deployment: str) -> None:
    artist = client_for(studio, deployment, ARTIST)
    done = artist.post(f"/api/shots/{studio['shot']}/retake", json={"changes": {"move": "push-in"}})
    assert done.status_code == 200, done.text
    assert done.json()["run"] is None and "waits for a director's approval" in done.json()["message"]
    film = artist.post(f"/api/shots/{studio['shot']}/more-takes", json={"takes": 1})
    assert film.status_code == 400 and "is not approved (it changed since it was approved)" in film.json()["detail"]


@pytest.mark.parametrize("name, refused", [
    ("kai", {"circle", "approve", "note", "more-takes", "retake", "film", "shot list"}),
    (ARTIST, {"circle", "approve"}),
])
def test_viewers_watch_artists_film_and_note_but_only_directors_decide(studio: dict, deployment: str, name: str,
                                                                        refused: set[str]) -> None:
    person = client_for(studio, deployment, name)
    take, shot, episode = studio["takes"][2], studio["shot"], studio["episode"]
    cells = person.get(f"/api/episodes/{episode}/shotlist").json()
    attempts = {  # in this order, on three shots, so no job waits for another
        "circle": lambda: person.post(f"/api/takes/{take}/circle", json={}),
        "approve": lambda: person.post(f"/api/takes/{take}/review", json={"decision": "approve"}),
        "note": lambda: person.post(f"/api/takes/{take}/notes", json={"note": "soft focus", "frame": 3}),
        "more-takes": lambda: person.post(f"/api/shots/{shot}/more-takes", json={"takes": 1}),
        "film": lambda: person.post(f"/api/episodes/{episode}/film", json={"scope": "shot", "shot": "010"}),
        "retake": lambda: person.post(f"/api/shots/{studio['other_shot']}/retake", json={"changes": {"pace": "slow"}}),
        "shot list": lambda: person.put(f"/api/episodes/{episode}/shotlist", json={"rows": cells}),
    }
    answers = {action: attempt().status_code for action, attempt in attempts.items()}
    assert {action for action, status in answers.items() if status == 403} == refused, answers
    assert all(status == 200 for action, status in answers.items() if action not in refused), answers
    form = person.post(f"/takes/{take}/circle", data={"csrftoken": person.cookies["csrftoken"]})
    assert form.status_code == 403 and "only directors and admins circle a take" in form.text
    assert rows(studio, models.CircledTake) == []


def test_the_shot_list_table_saves_as_an_import_does_all_rows_or_none(studio: dict, director: TestClient) -> None:
    episode = studio["episode"]
    cells = director.get(f"/api/episodes/{episode}/shotlist").json()
    assert list(cells[0])[:5] == ["id", "scene", "kind", "size", "framing"]
    cells[0]["move"], cells[1]["duration"] = "tracking", "not a number"
    refused = director.put(f"/api/episodes/{episode}/shotlist", json={"rows": cells})
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith(f"shot list of s01e02:2: shot {cells[1]['id']}: duration:")
    assert all(row.overrides == {} for row in rows(studio, models.Shot))
    cells[1]["duration"] = 4.0
    saved = director.put(f"/api/episodes/{episode}/shotlist", json={"rows": cells})
    assert saved.status_code == 200, saved.text
    assert set(saved.json()["edited"]) == {cells[0]["id"], cells[1]["id"]}
    [episode_row] = rows(studio, models.Episode, id=episode)
    assert not episode_row.shotlist_approved, "a changed shot list waits for approval again"
    form = {f"shot:{cells[2]['id']}:{name}": str(cells[2][name]) for name in EDITABLE}
    form[f"shot:{cells[2]['id']}:size"] = "WS"
    page = director.post(f"/episodes/{episode}/shotlist", data={"csrftoken": director.cookies["csrftoken"], **form},
                         follow_redirects=False)
    assert page.status_code == 303
    assert next(r for r in rows(studio, models.Shot) if r.code == cells[2]["id"]).spec["size"] == "WS"
    with session_scope(studio["engine"]) as session:
        session.get(models.Shot, studio["shot"]).conflict = "the script under this shot changed since it was edited"
    table = director.get(f"/episodes/{episode}?shotlist=open").text
    assert re.search(r'<tr data-row="030" class="conflict">.*?data-testid="conflict">the script under this shot '
                     r"changed since it was edited</div>", table, re.S)


def test_dailies_are_the_takes_filmed_since_a_time_or_an_episodes_retakes(studio: dict, director: TestClient,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    made = director.post("/api/dailies", json={"since": "today"})
    assert made.status_code == 200, made.text
    assert [item["take_id"] for item in made.json()["items"]] == studio["takes"]
    assert director.post("/api/dailies", json={"since": "2999-01-01"}).status_code == 400
    assert director.post("/api/dailies", json={"episode_id": studio["episode"]}).status_code == 400
    monkeypatch.setenv("AIGMS_DATABASE_URL", studio["url"])
    printed = CliRunner().invoke(cli, ["dailies", "--since", "36h", "--url", "http://studio:8000/", "--by", "ada"])
    assert printed.exit_code == 0, printed.output
    link = printed.output.strip().splitlines()[-1]
    assert re.fullmatch(r"http://studio:8000/dailies/\d+", link)
    shown = director.get(f"/dailies/{link.rsplit('/', 1)[1]}")
    assert all(f'data-take="{take}"' in shown.text for take in studio["takes"])


def test_progress_is_written_to_the_render_run_as_the_stages_report_it(studio: dict) -> None:
    with session_scope(studio["engine"]) as session:
        what = film_jobs.scope(session, studio["episode"], shot="030")
        run_id = film_jobs.request(session, Reviewer("mei", "director"), studio["episode"], what, 3).id
    with progress.listening(film_jobs.progress_recorder(studio["engine"], run_id)):
        progress.report(progress.TAKE, shot="030", take=2, takes=3)
        progress.report(progress.SEGMENT, shot="030", segment=1, segments=2)
        [run] = rows(studio, models.RenderRun, id=run_id)
        assert run.progress["summary"] == "shot 030: take 2 of 3, segment 1 of 2"
        progress.report(progress.FILMED, shot="030")
    progress.report(progress.CUT)
    [run] = rows(studio, models.RenderRun, id=run_id)
    assert (run.progress["summary"], run.progress["filmed"], run.progress["total"]) == ("1 of 1 shots filmed", 1, 1)


def test_a_film_job_that_cannot_start_is_marked_failed_with_the_reason(studio: dict, prefect: None,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from aigms.flows.film_job import film_job

    with session_scope(studio["engine"]) as session:
        what = film_jobs.scope(session, studio["episode"], shot="030")
        run_id = film_jobs.request(session, Reviewer("mei", "director"), studio["episode"], what).id
        session.get(models.Episode, studio["episode"]).shotlist_approved_sha256 = "0" * 64
    monkeypatch.setenv("AIGMS_DATABASE_URL", studio["url"])
    with pytest.raises(Exception, match="is not approved"):
        film_job(run_id, str(studio["tmp"] / "out"), str(studio["tmp"] / "home"))
    [run] = rows(studio, models.RenderRun, id=run_id)
    assert run.status == models.RUN_FAILED and "the shot list of s01e02 is not approved" in run.message


def test_openapi_documents_the_directors_loop(director: TestClient) -> None:
    paths = director.get("/api/openapi.json").json()["paths"]
    assert {"/api/takes/{take_id}/circle", "/api/takes/{take_id}/notes", "/api/shots/{shot_id}/more-takes",
            "/api/shots/{shot_id}/retake", "/api/episodes/{episode_id}/film", "/api/runs/{run_id}",
            "/api/episodes/{episode_id}/shotlist", "/api/dailies", "/api/dailies/{playlist_id}"} <= set(paths)
    assert "put" in paths["/api/episodes/{episode_id}/shotlist"]
