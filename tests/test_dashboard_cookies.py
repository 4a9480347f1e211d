"""The dashboard's cookies as a browser receives them: a studio serving it through HTTPS (`aigms dashboard --https`,
behind a TLS proxy) gets both the session and the CSRF cookie marked Secure; plain local use keeps them usable over
HTTP."""

import re
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aigms.dashboard.app import Settings, create_app, new_secret
from aigms.db.session import open_database, session_scope
from aigms.production.review.people import add_user

pytestmark = pytest.mark.database


def cookies_after_signing_in(database_url: str, store: Path, https: bool) -> dict[str, str]:
    """Every Set-Cookie the browser is sent from the login form to the first signed-in page, by cookie name."""
    with session_scope(open_database(database_url)) as session:
        add_user(session, "mei", "director", "correct horse battery staple")
    client = TestClient(create_app(Settings(database_url, store, new_secret(), https=https)),
                        base_url="https://dashboard.studio" if https else "http://testserver")
    form = client.get("/login")
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)
    done = client.post("/login", data={"csrftoken": token, "name": "mei", "password": "correct horse battery staple",
                                       "next": "/"}, follow_redirects=False)
    assert done.status_code == 303, done.text
    sent: dict[str, str] = {}
    for response in (form, done):
        for header in response.headers.get_list("set-cookie"):
            sent.update({name: header for name in SimpleCookie(header)})
    return sent


def test_behind_https_the_session_and_csrf_cookies_are_secure(database_url: str, tmp_path: Path) -> None:
    sent = cookies_after_signing_in(database_url, tmp_path / "store", https=True)
    assert set(sent) == {"aigms_session", "csrftoken"}
    assert all("secure" in header.lower().split("; ") for header in sent.values()), sent


def test_served_locally_the_cookies_also_travel_over_http(database_url: str, tmp_path: Path) -> None:
    sent = cookies_after_signing_in(database_url, tmp_path / "store", https=False)
    assert set(sent) == {"aigms_session", "csrftoken"}
    assert not any("secure" in header.lower().split("; ") for header in sent.values()), sent
