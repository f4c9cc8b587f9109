"""A live server and Debian's chromium driven by Playwright, with axe-core checks."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wholesystem.config import Settings

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery staple 42"

# Roles whose pages the browser tests visit; every role gets a user.
USERS = {
    "admin": ("system_admin", "QXX"),
    "carer": ("care_team_member", "A00001"),
    "analyst": ("analyst", "QXX"),
    "cllr": ("councillor", "E06000901"),
    "fin": ("finance_lead", "RA1"),
}


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("WHOLESYSTEM_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed but browser tests are required here")
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    url: str
    settings: Settings


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app under uvicorn on a free port, over a small loaded footprint."""
    import uvicorn

    from tests.conftest import SMALL_FOOTPRINT, TEST_SECRET
    from tests.record.view.lakefixture import write_lake
    from wholesystem.access.users import create_user
    from wholesystem.footprint.pipeline import load_footprint_file
    from wholesystem.store.db import make_engine, make_session_factory, session_scope, upgrade
    from wholesystem.web.app import create_app

    data = tmp_path_factory.mktemp("browser-data")
    settings = Settings(
        mode="test",
        data_dir=data,
        database_url=f"sqlite:///{data / 'browser.db'}",
        secret_key=TEST_SECRET,
    )
    upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    footprint = data / "footprint.json"
    footprint.write_text(json.dumps(SMALL_FOOTPRINT))
    load_footprint_file(factory, footprint)
    with session_scope(factory) as s:
        for username, (role, org) in USERS.items():
            create_user(
                s,
                username=username,
                display_name=username.title(),
                role=role,
                organisation_code=org,
                password=PASSWORD,
                actor="test",
            )
    from wholesystem.finance.store import load_demo_finance

    load_demo_finance(factory, actor="test")  # contract 1 and settlement 1 for the finance pages
    engine.dispose()
    write_lake(settings.resolved_lake_dir)  # the record pages' tiny linked lake

    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", settings)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-sandbox",
                "--headless",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.2 AA violations on the current page."""
    page.evaluate(AXE_JS.read_text())
    result = page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
