"""The dashboard over the session's rendered episode (the real pipeline): what each page and API answer shows, who
may do what, forms without their CSRF token refused, files served by id only, a row that is not there answered
404 and a bug 500, and a rejection that the next render answers."""

import hashlib
import io
import json
import re

import pytest
from PIL import Image
from sqlalchemy import select
from starlette.testclient import TestClient

from aigms.dashboard.app import build, create_app
from aigms.db import models
from aigms.db.session import open_database, session_scope
from episode import Studio, sign_in

pytestmark = pytest.mark.database


@pytest.fixture
def client(studio: Studio) -> TestClient:
    return TestClient(create_app(studio.settings(prefect_ui_url="http://prefect.studio:4200/")))


def rows(studio: Studio, model: type) -> list:
    with session_scope(open_database(studio.database_url)) as session:
        return list(session.scalars(select(model)))


def shot_id(studio: Studio, code: str, episode: str = "s01e02") -> int:
    with session_scope(open_database(studio.database_url)) as session:
        return session.scalar(select(models.Shot.id).join(models.Episode).where(
            models.Episode.code == episode, models.Shot.code == code))


def episode_id(studio: Studio, code: str) -> int:
    with session_scope(open_database(studio.database_url)) as session:
        return session.scalar(select(models.Episode.id).where(models.Episode.code == code))


def test_pages_and_api_need_a_signed_in_person(client: TestClient, studio: Studio) -> None:
    page = client.get(f"/episodes/{episode_id(studio, 's01e02')}", follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, f"/login?next=/episodes/{episode_id(studio, 's01e02')}")
    assert client.get("/api/series").status_code == 401
    assert client.get("/assets/1", follow_redirects=False).headers["location"] == "/login?next=/assets/1"


def test_a_wrong_password_does_not_sign_in(client: TestClient) -> None:
    form = client.get("/login")
    token = client.cookies["csrftoken"]
    refused = client.post("/login", data={"csrftoken": token, "name": "mei", "password": "guess"})
    assert refused.status_code == 401
    assert "do not match" in refused.text
    assert client.get("/api/me").status_code == 401
    assert form.status_code == 200


def test_overview_shows_each_episode_with_its_shots_by_status(client: TestClient, studio: Studio) -> None:
    sign_in(client, "kai")
    series = client.get("/api/series").json()
    assert [s["id"] for s in series] == ["bronze-echoes"]
    episodes = {e["code"]: e for e in series[0]["episodes"]}
    assert episodes["s01e02"]["shots"] == 11
    assert sum(episodes["s01e02"]["by_status"].values()) == 11
    delivered = json.loads(studio.result.manifest.read_text())["duration"]
    assert episodes["s01e02"]["cut_seconds"] == pytest.approx(delivered, abs=0.1)
    assert episodes["s01e01"]["by_status"] == {"todo": episodes["s01e01"]["shots"]}
    page = client.get("/")
    assert page.status_code == 200
    assert "s01e02" in page.text and "s01e01" in page.text


def test_episode_page_plays_the_delivered_cut_with_its_subtitles(client: TestClient, studio: Studio) -> None:
    sign_in(client, "kai")
    detail = client.get(f"/api/episodes/{episode_id(studio, 's01e02')}").json()
    assert [shot["code"] for shot in detail["shots"]] == [f"{10 * n:03d}" for n in range(1, 12)]
    assert all(shot["takes"] == 1 and shot["clip_asset_id"] for shot in detail["shots"])
    assert detail["shots"][0]["status"] == models.STATUS_WAITING
    video = client.get(f"/assets/{detail['cut']['video_asset_id']}")
    assert hashlib.sha256(video.content).hexdigest() == hashlib.sha256(studio.result.video.read_bytes()).hexdigest()
    vtt = client.get(f"/assets/{detail['cut']['subtitles_asset_id']}/subtitles.vtt")
    assert vtt.text.startswith("WEBVTT")
    assert "Then it is counting." in vtt.text
    page = client.get(f"/episodes/{detail['id']}")
    assert f'src="/assets/{detail["cut"]["video_asset_id"]}"' in page.text
    assert f'src="/assets/{detail["cut"]["subtitles_asset_id"]}/subtitles.vtt"' in page.text


def test_a_player_can_seek_in_a_take(client: TestClient, studio: Studio) -> None:
    sign_in(client, "kai")
    take = client.get(f"/api/shots/{shot_id(studio, '020')}").json()["takes"][0]
    whole = client.get(f"/assets/{take['clip_asset_id']}").content
    part = client.get(f"/assets/{take['clip_asset_id']}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == whole[100:200]


def test_a_poster_is_a_small_jpeg_of_the_clip(client: TestClient, studio: Studio) -> None:
    sign_in(client, "kai")
    take = client.get(f"/api/shots/{shot_id(studio, '010')}").json()["takes"][0]
    poster = client.get(f"/assets/{take['clip_asset_id']}/poster.jpg")
    image = Image.open(io.BytesIO(poster.content))
    assert (image.format, image.size) == ("JPEG", (480, 270))
    assert client.get(f"/assets/{take['clip_asset_id']}/poster.jpg").content == poster.content


def test_assets_are_served_by_id_never_by_path(client: TestClient) -> None:
    sign_in(client, "kai")
    assert client.get("/assets/999999").status_code == 404
    for path in ("/assets/..%2F..%2Fetc%2Fpasswd", "/assets/1/..%2F..%2Faigms.db", "/assets/%2Fetc%2Fpasswd"):
        answer = client.get(path)
        assert answer.status_code in (404, 422) and b"root:" not in answer.content


def test_shot_page_shows_the_script_lines_and_the_takes_recipe(client: TestClient, studio: Studio) -> None:
    sign_in(client, "kai")
    page = client.get(f"/shots/{shot_id(studio, '050')}")
    assert "PROFESSOR ZHOU" in page.text and "Then it is counting." in page.text
    detail = client.get(f"/api/shots/{shot_id(studio, '050')}").json()
    assert detail["takes"][0]["selected"] is True
    assert detail["takes"][0]["recipe"]["shot"]["id"] == "050"


def test_library_shows_references_and_the_shots_each_appears_in(client: TestClient, studio: Studio) -> None:
    sign_in(client, "kai")
    library = client.get("/api/library/bronze-echoes").json()
    zhou = next(entry for entry in library["characters"] if entry["key"] == "zhou")
    assert {(shot["episode_code"], shot["code"]) for shot in zhou["shots"]} >= {("s01e02", "050")}
    page = client.get("/library/bronze-echoes")
    reference = (studio.series / zhou["references"][0]).read_bytes()
    served = [int(found) for found in re.findall(r'src="/assets/(\d+)"', page.text)]
    assert hashlib.sha256(reference).hexdigest() in {
        hashlib.sha256(client.get(f"/assets/{asset}").content).hexdigest() for asset in served}


def test_render_runs_link_to_prefect_when_its_ui_is_configured(client: TestClient) -> None:
    sign_in(client, "kai")
    run = client.get("/api/runs").json()[0]
    assert run["status"] == models.RUN_COMPLETED and run["flow_run_id"]
    assert f'href="http://prefect.studio:4200/runs/flow-run/{run["flow_run_id"]}"' in client.get("/runs").text


def test_a_form_without_its_csrf_token_is_refused(client: TestClient, studio: Studio) -> None:
    sign_in(client, "mei")
    take = client.get(f"/api/shots/{shot_id(studio, '050')}").json()["takes"][0]
    forged = client.post(f"/takes/{take['id']}/review", data={"decision": "approve", "note": ""})
    assert forged.status_code == 403
    assert "CSRF" in forged.text
    assert [r for r in rows(studio, models.Review) if r.target_id == take["id"]] == []


def test_a_viewer_cannot_approve_even_with_a_valid_form(client: TestClient, studio: Studio) -> None:
    token = sign_in(client, "kai")
    take = client.get(f"/api/shots/{shot_id(studio, '060')}").json()["takes"][0]
    refused = client.post(f"/takes/{take['id']}/review", data={"csrftoken": token, "decision": "approve"})
    assert refused.status_code == 403
    assert "only directors and admins" in refused.text
    assert "Approve take" not in client.get(f"/shots/{shot_id(studio, '060')}").text
    assert [r for r in rows(studio, models.Review) if r.target_id == take["id"]] == []


def test_a_director_rejects_through_the_api_and_the_retake_is_queued(client: TestClient, studio: Studio) -> None:
    sign_in(client, "mei")
    take = client.get(f"/api/shots/{shot_id(studio, '070')}").json()["takes"][0]
    without_header = client.post(f"/api/takes/{take['id']}/review", json={"decision": "reject", "note": "closer"})
    assert without_header.status_code == 403
    done = client.post(f"/api/takes/{take['id']}/review", json={"decision": "reject", "note": "closer on Lin"},
                       headers={"x-csrftoken": client.cookies["csrftoken"]})
    assert done.status_code == 200, done.text
    assert (done.json()["author"], done.json()["status"]) == ("mei", models.STATUS_RETAKE)
    queue = client.get(f"/api/retakes?episode_id={episode_id(studio, 's01e02')}").json()
    assert [(r["rejected_take_id"], r["note"]) for r in queue] == [(take["id"], "closer on Lin")]


def test_openapi_describes_the_api_to_people_signed_in(client: TestClient) -> None:
    assert client.get("/api/openapi.json").status_code == 401
    sign_in(client, "kai")
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/series", "/api/episodes/{episode_id}", "/api/shots/{shot_id}", "/api/takes/{take_id}/review",
            "/api/retakes"} <= set(paths)


def test_the_next_render_answers_a_rejection_with_a_new_take(studio_copy: Studio, prefect: None) -> None:
    client = TestClient(create_app(studio_copy.settings()))
    token = sign_in(client, "mei")
    shot = shot_id(studio_copy, "040")
    rejected = client.get(f"/api/shots/{shot}").json()["takes"][0]["id"]
    client.post(f"/takes/{rejected}/review", data={"csrftoken": token, "decision": "reject",
                                                   "note": "the drone's eye should glow red"})
    again = studio_copy.render()
    assert (again.rendered, again.reused) == (1, 10)
    detail = client.get(f"/api/shots/{shot}").json()
    new = next(take for take in detail["takes"] if take["selected"])
    assert new["id"] != rejected
    assert "the drone's eye should glow red" in new["recipe"]["shot"]["prompt"]
    assert detail["status"] == models.STATUS_WAITING
    assert detail["retakes"][0]["filled_take_id"] == new["id"]
    assert client.get("/api/retakes").json() == []
    steady = studio_copy.render()
    assert (steady.rendered, steady.reused) == (0, 11)


def test_a_row_that_is_not_there_is_404_and_a_bug_is_500(client: TestClient, studio: Studio) -> None:
    sign_in(client, "kai")
    assert client.get("/api/episodes/999999").status_code == 404
    assert client.get("/api/library/no-such-series").json() == {"detail": "no series no-such-series"}
    assert client.get("/shots/999999").status_code == 404
    app = build(studio.settings())

    @app.get("/api/broken")
    def broken() -> None:
        {}["a key that a bug forgot"]

    answer = TestClient(app, raise_server_exceptions=False).get("/api/broken")
    assert answer.status_code == 500


def test_the_login_form_itself_needs_its_token(studio: Studio) -> None:
    client = TestClient(create_app(studio.settings()))
    refused = client.post("/login", data={"name": "mei", "password": "director-pass"}, follow_redirects=False)
    assert refused.status_code == 403
    assert "aigms_session" not in client.cookies


def test_a_director_approves_the_shot_list_as_it_stands(client: TestClient, studio: Studio) -> None:
    episode = episode_id(studio, "s01e01")
    with session_scope(open_database(studio.database_url)) as session:
        session.get(models.Episode, episode).shotlist_sha256 = "5" * 64
    token = sign_in(client, "mei")
    page = client.post(f"/episodes/{episode}/shotlist/review",
                       data={"csrftoken": token, "decision": "approve", "note": "coverage is right"})
    assert page.status_code == 200
    assert "approved by mei" in page.text
    with session_scope(open_database(studio.database_url)) as session:
        approved = session.get(models.Episode, episode)
        assert (approved.shotlist_approved_sha256, approved.shotlist_approved_by) == ("5" * 64, "mei")


def test_rejecting_the_cut_sends_the_episode_back(client: TestClient, studio: Studio) -> None:
    token = sign_in(client, "mei")
    detail = client.get(f"/api/episodes/{episode_id(studio, 's01e02')}").json()
    done = client.post(f"/cuts/{detail['cut']['id']}/review",
                       data={"csrftoken": token, "decision": "reject", "note": "the ending needs a beat"})
    assert done.status_code == 200
    after = client.get(f"/api/episodes/{detail['id']}").json()
    assert (after["status"], after["cut"]["status"]) == (models.STATUS_RETAKE, models.STATUS_RETAKE)
    assert [(r["target_type"], r["note"], r["author"]) for r in after["reviews"]] == [
        ("cut", "the ending needs a beat", "mei")]
