"""The web app, served for real: the demo company on a free localhost port, and Chromium driven by
Playwright (Debian's /usr/bin/chromium; never `playwright install`).

Users made here (all with PASSWORD): admin@test.local (admin), north@test.local (manager of R-NORTH),
analyst@test.local, lead@test.local (change-lead), viewer@test.local. Screenshots go to
test-output/screenshots/ (see `screenshot`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSWORD = "correct-horse-battery"
USERS = {
    "admin": ("admin@test.local", "admin", ()),
    "manager": ("north@test.local", "manager", ("R-NORTH",)),
    "analyst": ("analyst@test.local", "analyst", ()),
    "lead": ("lead@test.local", "change-lead", ()),
    "viewer": ("viewer@test.local", "viewer", ()),
    # Only for the sign-in rate-limit test: failures lock this address out of the live server for minutes.
    "limited": ("limited@test.local", "viewer", ()),
}
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture(scope="session")
def web_db(demo_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the analysed demo (tests here may write to it) with one user per role."""
    from tests.web.scoping_world import copy_of_demo

    from cxchange.auth.service import add_user
    from cxchange.core.db import get_engine

    url = copy_of_demo(demo_engine, tmp_path_factory.mktemp("web") / "web.db")
    engine = get_engine(url)
    for email, role, units in USERS.values():
        add_user(engine, email, role, units=units, password=PASSWORD, actor="test")
    return url


@pytest.fixture(scope="session")
def live_server(web_db: str, tmp_path_factory: pytest.TempPathFactory, cxchange_server: Any) -> Iterator[str]:
    """`cxchange serve` in a subprocess; yields its base URL once /api/health answers."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with cxchange_server(["--db", web_db], log, {"CXCHANGE_DATABASE_URL": web_db}, timeout=60) as (base, _):
        yield base


def _ensure_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env)
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing and could not be installed with apt"
        if IN_CI:
            pytest.fail(message + " (CI=true: browser tests are required)", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def sign_in(browser: Any, base: str, who: str = "admin", viewport: dict[str, int] | None = None) -> Any:
    """A new browser context signed in as one of USERS through the real sign-in form."""
    context = browser.new_context(base_url=base, viewport=viewport or {"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/login")
    page.fill("#email", USERS[who][0])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


@pytest.fixture
def admin_page(browser: Any, live_server: str) -> Iterator[Any]:
    page = sign_in(browser, live_server, "admin")
    yield page
    page.context.close()


@pytest.fixture
def manager_page(browser: Any, live_server: str) -> Iterator[Any]:
    page = sign_in(browser, live_server, "manager")
    yield page
    page.context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-output/screenshots/NAME.png (look at them)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="session")
def api(web_db: str) -> Any:
    """httpx clients per role against the live server, authenticated with API tokens."""
    from cxchange.auth.service import create_token
    from cxchange.core.db import get_engine

    engine = get_engine(web_db)

    def client(base: str, who: str = "admin") -> httpx.Client:
        token = create_token(engine, USERS[who][0], name="test")
        return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    return client


@pytest.fixture(scope="module")
def world(demo_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The scoping tests' demo copy (see `scoping_world`), one per test module."""
    from tests.web.scoping_world import make_world

    yield from make_world(demo_engine, tmp_path_factory)


@pytest.fixture
def world_database(world: Any) -> None:
    """The app's database is process-wide: other test modules may have pointed it elsewhere."""
    from tests.web.scoping_world import use_database

    use_database(world)
