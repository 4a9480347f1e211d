"""The dashboard in real Chromium (Debian's, driven by Playwright) over a copy of the session's rendered episode,
served by uvicorn: a director plays a take, rejects it with a note and sees the retake queued; a viewer cannot
approve; a form without its CSRF token is refused; the director's whole loop (more takes filmed by a local worker
while the page follows, two takes compared in sync, a note at a frame, a take circled and the episode cut again
with it, the shot approved, dailies); what a viewer and an artist may not do is refused. Screenshots of every page
go to test-artifacts/."""

from collections.abc import Iterator
from pathlib import Path

import opentimelineio as otio
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from aigms.db import models
from aigms.db.session import open_database, session_scope
from episode import PASSWORDS, Studio, serve

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium instead of a browser Playwright would download."""
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="module")
def studio(pristine: Studio, tmp_path_factory: pytest.TempPathFactory) -> Studio:
    """A copy of its own: a director rejects a take here, which the other dashboard tests must not see."""
    return pristine.copy(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def site(studio: Studio) -> Iterator[str]:
    with serve(studio.settings()) as base_url:
        yield base_url


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def sign_in(page: Page, site: str, name: str) -> None:
    page.goto(f"{site}/")
    expect(page).to_have_url(f"{site}/login?next=/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("me")).to_contain_text(name)


def take_of(studio: Studio, code: str) -> tuple[int, int]:
    """(shot id, selected take id) of a shot of s01e02."""
    with session_scope(open_database(studio.database_url)) as session:
        shot = session.scalars(select(models.Shot).join(models.Episode).where(
            models.Episode.code == "s01e02", models.Shot.code == code)).one()
        return shot.id, shot.selected_take_id


def reviews_of(studio: Studio, take_id: int) -> list[tuple[str, str, str]]:
    with session_scope(open_database(studio.database_url)) as session:
        return [(r.status, r.note, r.author) for r in session.scalars(
            select(models.Review).where(models.Review.target_type == "take", models.Review.target_id == take_id))]


def test_director_plays_a_take_rejects_it_and_sees_the_retake_queued(page: Page, site: str, studio: Studio) -> None:
    sign_in(page, site, "mei")
    expect(page.get_by_test_id("episodes")).to_contain_text("s01e02")
    screenshot(page, "overview")

    page.get_by_role("link", name="s01e02").click()
    grid = page.get_by_test_id("shot-grid")
    expect(grid.locator(".card")).to_have_count(11)
    player = page.get_by_test_id("episode-player")
    expect(player).to_have_js_property("readyState", 4, timeout=15000)
    screenshot(page, "episode")

    shot_id, take_id = take_of(studio, "030")
    grid.locator('[data-shot="030"] a').first.click()
    expect(page).to_have_url(f"{site}/shots/{shot_id}")
    video = page.locator(f'[data-take="{take_id}"] video')
    video.evaluate("video => video.play()")
    page.wait_for_function("video => video.currentTime > 0.3", arg=video.element_handle(), timeout=15000)
    assert video.evaluate("video => video.videoWidth") == 320
    video.evaluate("video => video.pause()")
    screenshot(page, "shot")

    form = page.locator(f'[data-take="{take_id}"] form.review')
    form.locator("textarea").fill("Lin should look up from the mask before she speaks")
    form.get_by_role("button", name="Reject take").click()
    expect(page).to_have_url(f"{site}/shots/{shot_id}")
    expect(page.get_by_test_id("retakes")).to_contain_text("queued")
    expect(page.get_by_test_id("retakes")).to_contain_text("Lin should look up from the mask")
    assert reviews_of(studio, take_id) == [
        (models.STATUS_RETAKE, "Lin should look up from the mask before she speaks", "mei")]

    page.get_by_role("link", name="s01e02").click()
    expect(page.get_by_test_id("retake-queue")).to_contain_text("Lin should look up from the mask")
    expect(page.locator('[data-shot="030"]')).to_contain_text("retake")


def test_a_viewer_sees_no_review_buttons_and_cannot_approve(page: Page, site: str, studio: Studio) -> None:
    sign_in(page, site, "kai")
    shot_id, take_id = take_of(studio, "050")
    page.goto(f"{site}/shots/{shot_id}")
    expect(page.locator(f'[data-take="{take_id}"]')).to_be_visible()
    expect(page.get_by_role("button", name="Approve take")).to_have_count(0)
    token = page.locator('header input[name="csrftoken"]').input_value()
    page.evaluate(
        """([action, token]) => {
            const form = Object.assign(document.createElement("form"), {method: "post", action});
            for (const [name, value] of [["csrftoken", token], ["decision", "approve"]]) {
                form.append(Object.assign(document.createElement("input"), {type: "hidden", name, value}));
            }
            document.body.append(form);
            form.submit();
        }""",
        [f"/takes/{take_id}/review", token],
    )
    expect(page.get_by_test_id("error")).to_contain_text("only directors and admins")
    assert reviews_of(studio, take_id) == []


def test_a_forged_form_without_the_csrf_token_is_refused(page: Page, site: str, studio: Studio) -> None:
    sign_in(page, site, "mei")
    _shot_id, take_id = take_of(studio, "060")
    page.goto(f"{site}/library/bronze-echoes")
    page.evaluate(
        """action => {
            const form = Object.assign(document.createElement("form"), {method: "post", action});
            form.append(Object.assign(document.createElement("input"), {type: "hidden", name: "decision", value: "approve"}));
            document.body.append(form);
            form.submit();
        }""",
        f"/takes/{take_id}/review",
    )
    expect(page.locator("body")).to_contain_text("CSRF token is missing")
    assert reviews_of(studio, take_id) == []


def test_library_and_render_runs_pages(page: Page, site: str) -> None:
    sign_in(page, site, "ada")
    page.goto(f"{site}/library/bronze-echoes")
    lin = page.locator('[data-entry="character:lin-yue"]')
    expect(lin.locator("img")).to_have_js_property("complete", True)
    assert lin.locator("img").evaluate("image => image.naturalWidth") > 0
    screenshot(page, "library")
    page.goto(f"{site}/runs")
    expect(page.get_by_test_id("runs")).to_contain_text("completed")
    screenshot(page, "runs")


def test_pages_and_api_docs_run_under_the_content_security_policy(page: Page, site: str, studio: Studio) -> None:
    """Nothing on any page is blocked by the policy, nothing is loaded from another host, and the script moved out
    of the pages still works: ▶ on a shot plays the cut from there; Swagger UI lists the API."""
    blocked: list[str] = []
    requested: list[str] = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text
            else None)
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, site, "kai")
    page.get_by_role("link", name="s01e02").click()
    expect(page.get_by_test_id("episode-player")).to_have_js_property("readyState", 4, timeout=15000)
    page.locator('[data-shot="030"] button.seek').click()
    page.wait_for_function("() => document.getElementById('player').currentTime > 0.5", timeout=15000)
    shot_id, _take_id = take_of(studio, "030")
    for path in (f"/shots/{shot_id}", "/library/bronze-echoes", "/runs", "/shots/999999"):
        page.goto(f"{site}{path}")
    page.goto(f"{site}/api/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=15000)
    screenshot(page, "api-docs")
    assert blocked == []
    assert [url for url in requested if not url.startswith(site)] == []


# The director's loop: film jobs run in local worker processes the dashboard starts, on the session's Prefect
# server, with no speech recogniser (the cut's subtitles keep the script's timing).

FPS = 30


@pytest.fixture
def workers_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    monkeypatch.setenv("AIGMS_WHISPER", "none")


def studio_episode(studio: Studio) -> int:
    with session_scope(open_database(studio.database_url)) as session:
        return session.scalar(select(models.Episode.id).where(models.Episode.code == "s01e02"))


def latest_cut(studio: Studio, episode_id: int) -> int:
    with session_scope(open_database(studio.database_url)) as session:
        return session.scalar(select(func.max(models.EpisodeCut.id)).where(models.EpisodeCut.episode_id == episode_id))


def video_times(page: Page) -> list[float]:
    """Every compared player's currentTime, read in one go."""
    return page.evaluate("() => [...document.querySelectorAll('#compare video')].map(video => video.currentTime)")


def watch_summaries(page: Page) -> None:
    """Keep every line a film job card shows, to tell afterwards that the page followed the job as it ran."""
    page.evaluate("""() => {
        window.stayed = true;
        window.summaries = [];
        const summary = document.querySelector('.job .summary');
        new MutationObserver(() => window.summaries.push(summary.textContent))
            .observe(summary, {childList: true, characterData: true, subtree: true});
    }""")


def test_the_directors_loop_compare_note_more_takes_circle_recut_approve(page: Page, site: str, studio: Studio,
                                                                        workers_env: None) -> None:
    shot_id, _take = take_of(studio, "020")
    episode_id = studio_episode(studio)
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text
            else None)
    sign_in(page, site, "mei")

    page.goto(f"{site}/episodes/{episode_id}")
    page.get_by_role("button", name="Approve shot list").click()
    expect(page.get_by_test_id("shotlist-approval")).to_contain_text("approved by mei")
    page.get_by_test_id("open-shot-list").click()
    expect(page.get_by_test_id("shot-list").locator("tr[data-row] input[name='shot:020:size']")).to_have_value("MS")
    expect(page.get_by_test_id("shot-list").locator("tr[data-row]")).to_have_count(11)
    screenshot(page, "shot-list")

    # Ask for two more takes and watch the job to the end without the page reloading.
    page.goto(f"{site}/shots/{shot_id}")
    more = page.get_by_test_id("more-takes")
    more.get_by_label("More takes").fill("2")
    more.get_by_role("button", name="Film more takes").click()
    expect(page.locator(".job")).to_have_count(1)
    watch_summaries(page)
    expect(page.get_by_test_id("job-status")).to_have_text("completed", timeout=240_000)
    expect(page.get_by_test_id("job-summary")).to_have_text("done")
    seen = page.evaluate("window.summaries")
    assert any(line.startswith("shot 020: take") or line in ("1 of 1 shots filmed", "cutting the episode")
               for line in seen), seen
    expect(page.locator("[data-card]")).to_have_count(3)
    assert page.evaluate("window.stayed") is True, "the takes came in without a page load"
    screenshot(page, "film-job")

    # Compare the take in the cut with another, in sync.
    takes = [int(card.get_attribute("data-card")) for card in page.locator("[data-card]").all()]
    _shot_id, selected = take_of(studio, "020")
    keep = [selected, next(take for take in reversed(takes) if take != selected)]
    for take in takes:
        box = page.locator(f'[data-card="{take}"] input[name="compare"]')
        box.set_checked(take in keep)
    page.get_by_role("button", name="Compare the ticked takes").click()
    expect(page.locator("#compare video")).to_have_count(2)
    page.wait_for_function("() => [...document.querySelectorAll('#compare video')].every(v => v.readyState >= 2)",
                           timeout=15000)
    page.get_by_test_id("timecode").click()
    page.keyboard.press("Space")
    page.wait_for_function("() => document.querySelector('#compare video').currentTime > 0.5", timeout=15000)
    for _ in range(5):
        lead, other = video_times(page)
        assert abs(lead - other) <= 1 / FPS, (lead, other)
        page.wait_for_timeout(100)
    page.keyboard.press("k")
    paused = video_times(page)
    assert paused[0] == pytest.approx(paused[1], abs=1e-3)  # the same frame; a browser keeps microseconds of its own
    page.keyboard.press("ArrowRight")
    stepped = video_times(page)
    assert stepped[0] == pytest.approx(stepped[1], abs=1e-3)
    assert int(stepped[0] * FPS) == int(paused[0] * FPS + 1e-6) + 1
    page.keyboard.press("Home")
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("timecode")).to_contain_text("frame 10 ")
    screenshot(page, "compare")

    # A note at frame 10 of the second take, with a box drawn on the picture.
    noted = page.locator(f'[data-take="{keep[1]}"]')
    noted.locator(".draw").scroll_into_view_if_needed()
    frame = noted.locator(".draw").bounding_box()
    page.mouse.move(frame["x"] + frame["width"] * 0.1, frame["y"] + frame["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(frame["x"] + frame["width"] * 0.4, frame["y"] + frame["height"] * 0.6, steps=5)
    page.mouse.up()
    noted.locator("form.note textarea").fill("the relic's glow should pulse here")
    noted.get_by_role("button", name="Add note").click()
    marker = page.locator(f'[data-take="{keep[1]}"] .marker[data-frame="10"]')
    expect(marker).to_have_count(1)
    with session_scope(open_database(studio.database_url)) as session:
        note = session.scalars(select(models.Review).where(models.Review.target_id == keep[1],
                                                           models.Review.status == "note")).one()
        assert (note.frame, note.author) == (10, "mei")
        assert note.region["x"] == pytest.approx(0.1, abs=0.02) and note.region["h"] == pytest.approx(0.4, abs=0.02)

    # Circle it: the episode is cut again with it, and the episode page shows the new cut.
    before = latest_cut(studio, episode_id)
    page.locator(f'[data-take="{keep[1]}"]').get_by_role("button", name="Circle take").click()
    expect(page.locator(f'[data-take="{keep[1]}"] [data-testid="circled"]')).to_be_visible()
    page.goto(f"{site}/episodes/{episode_id}")
    page.evaluate("window.stayed = true")
    expect(page.get_by_test_id("cut")).not_to_have_attribute("data-cut", str(before), timeout=240_000)
    expect(page.get_by_test_id("episode-player")).to_have_js_property("readyState", 4, timeout=15000)
    with session_scope(open_database(studio.database_url)) as session:
        cut = session.scalars(select(models.EpisodeCut).order_by(models.EpisodeCut.id.desc())).first()
        run = session.get(models.RenderRun, cut.render_run_id)
        assert (run.started_by, run.scope["shots"]) == ("mei", [])
        assert session.get(models.Shot, shot_id).selected_take_id == keep[1]
    timeline = otio.adapters.read_from_file(str(studio.home.parent / "out" / "bronze-echoes" / "s01e02" /
                                                "timeline.otio"))
    clip = next(item for item in timeline.tracks[0].find_clips() if item.name == "020")
    assert [(m.marked_range.start_time.value, m.metadata["aigms"]["author"]) for m in clip.markers
            if "note" in m.metadata.get("aigms", {})] == [(10, "mei")]

    # Approve the shot with its circled take.
    page.goto(f"{site}/shots/{shot_id}")
    page.locator(f'[data-take="{keep[1]}"] form.review').get_by_role("button", name="Approve take").click()
    expect(page.locator("h1")).to_contain_text("done")
    assert (models.STATUS_DONE, "", "mei") in reviews_of(studio, keep[1])

    # Dailies of the episode's retakes: the two new takes, played one after the other.
    page.goto(f"{site}/episodes/{episode_id}")
    page.get_by_role("button", name="Dailies of its retakes").click()
    expect(page.locator(".playlist .item")).to_have_count(2)
    expect(page.get_by_test_id("dailies-player")).to_have_js_property("readyState", 4, timeout=15000)
    screenshot(page, "dailies")
    page.goto(f"{site}/episodes/{episode_id}/board")
    expect(page.get_by_test_id("board").locator(".board-panel")).to_have_count(11)
    screenshot(page, "board")
    page.goto(f"{site}/runs/{run.id}")
    expect(page.get_by_test_id("job-status")).to_have_text("completed")
    screenshot(page, "run")
    page.goto(f"{site}/dailies")
    screenshot(page, "dailies-list")
    assert blocked == [], "every page of the loop runs under the Content-Security-Policy"


def test_a_viewer_and_an_artist_are_refused_what_their_role_does_not_allow(page: Page, site: str,
                                                                          studio: Studio) -> None:
    shot_id, take_id = take_of(studio, "040")
    forge = """async ([url, body]) => {
        const token = document.querySelector('header input[name="csrftoken"]').value;
        const answer = await fetch(url, {method: "POST", headers: {"content-type": "application/json",
                                                                   "x-csrftoken": token}, body: JSON.stringify(body)});
        return [answer.status, (await answer.json()).detail];
    }"""
    sign_in(page, site, "kai")
    page.goto(f"{site}/shots/{shot_id}")
    expect(page.get_by_test_id("more-takes")).to_have_count(0)
    expect(page.locator("form.note")).to_have_count(0)
    status, detail = page.evaluate(forge, [f"/api/shots/{shot_id}/more-takes", {"takes": 1}])
    assert status == 403 and "viewers watch" in detail
    page.locator("header form button").click()

    sign_in(page, site, "lee")
    page.goto(f"{site}/shots/{shot_id}")
    expect(page.get_by_test_id("more-takes")).to_be_visible()
    expect(page.get_by_role("button", name="Circle take")).to_have_count(0)
    expect(page.get_by_role("button", name="Approve take")).to_have_count(0)
    status, detail = page.evaluate(forge, [f"/api/takes/{take_id}/circle", {}])
    assert status == 403 and "only directors and admins circle a take" in detail
    token = page.locator('header input[name="csrftoken"]').input_value()
    page.evaluate(
        """([action, token]) => {
            const form = Object.assign(document.createElement("form"), {method: "post", action});
            form.append(Object.assign(document.createElement("input"),
                                      {type: "hidden", name: "csrftoken", value: token}));
            document.body.append(form);
            form.submit();
        }""",
        [f"/takes/{take_id}/circle", token],
    )
    expect(page.get_by_test_id("error")).to_contain_text("only directors and admins circle a take")
    with session_scope(open_database(studio.database_url)) as session:
        assert session.scalars(select(models.CircledTake).where(models.CircledTake.take_id == take_id)).all() == []
    assert reviews_of(studio, take_id) == []
