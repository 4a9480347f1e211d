"""The dashboard in real Chromium (Debian's, driven by Playwright) over a series rendered by the real pipeline and
served by uvicorn: a director plays a take, rejects it with a note and sees the retake queued; a viewer cannot
approve; a form without its CSRF token is refused. Screenshots of the main pages go to test-artifacts/."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from aigms.db import models
from aigms.db.session import open_database, session_scope
from dashboard_data import PASSWORDS, Studio, render_studio, serve

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium instead of a browser Playwright would download."""
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory, prefect: None) -> Studio:
    return render_studio(tmp_path_factory.mktemp("browser"))


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
