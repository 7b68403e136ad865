"""`mmtui serve`: the guide in a real Chromium (Debian's, driven by Playwright through its
executable path), over the session's sandbox.

What the browser's terminal draws is read back from what it was sent: every binary frame of
the page's websocket goes through a VT100 screen (pyte) of the size the page asked for, as
xterm.js does with it; keys are the browser's own key presses.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from mmtui.sandbox.core.server import Sandbox
from tests.conftest import aws_keys, invoke

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("MMTUI_REQUIRE_CHROMIUM") == "1"
"""Set by .ci/run, which installs Chromium: there, no Chromium is a failure, not a skip."""


def chromium() -> str:
    if CHROMIUM is None:
        if REQUIRED:
            pytest.fail("no chromium on PATH (.ci/run installs Debian's chromium)")
        pytest.skip("no chromium on PATH: install Debian's chromium to run the browser test")
    return CHROMIUM


@pytest.fixture
def served(sandbox: Sandbox, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`mmtui serve --port 0` on the sandbox; yields the printed link and the process."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MMTUI_"))},
        **aws_keys(sandbox),
        "AWS_ENDPOINT_URL": sandbox.url,
        "MMTUI_STATE_DIR": str(tmp_path / "state"),
        "HOME": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "mmtui", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("ready"):
            break
    text = "".join(lines)
    link = re.search(r"^open:\s+(\S+)$", text, re.M)
    assert link, text
    assert "127.0.0.1" in text and "this machine only" in text, text
    try:
        yield link.group(1), process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class BrowserScreen:
    """The terminal the page draws, rebuilt from the websocket's frames."""

    def __init__(self) -> None:
        import pyte

        self._pyte = pyte
        self.screen: Any = None
        self.stream: Any = None

    def on_websocket(self, websocket: Any) -> None:
        query = parse_qs(urlparse(websocket.url).query)
        self._open(int(query["width"][0]), int(query["height"][0]))
        websocket.on("framereceived", self._received)
        websocket.on("framesent", self._sent)

    def _open(self, width: int, height: int) -> None:
        self.screen = self._pyte.Screen(width, height)
        self.stream = self._pyte.ByteStream(self.screen)

    def _received(self, payload: bytes | str) -> None:
        if isinstance(payload, bytes) and self.stream is not None:
            self.stream.feed(payload)

    def _sent(self, payload: bytes | str) -> None:
        # The page tells the app its size again when it fits the window.
        match = re.search(r'\["resize",\s*\{"width":\s*(\d+),\s*"height":\s*(\d+)', str(payload))
        if match and self.screen is not None:
            self.screen.resize(int(match.group(2)), int(match.group(1)))

    def text(self) -> str:
        return "\n".join(self.screen.display) if self.screen is not None else ""


def wait_for(page: Any, screen: BrowserScreen, test: Callable[[str], bool], what: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = screen.text()
        if test(text):
            return text
        page.wait_for_timeout(100)  # lets Playwright deliver the frames
    raise AssertionError(f"the browser never showed {what}; it shows:\n{screen.text()}")


def test_the_guide_in_chromium(served: tuple[str, subprocess.Popen[str]]) -> None:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    link, _process = served
    screen = BrowserScreen()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("websocket", screen.on_websocket)
            page.goto(link)
            home = wait_for(
                page,
                screen,
                lambda t: "Workshop initialization" in t and t.count("verified") >= 3,
                "the home screen with Labs 0-2 verified",
            )
            assert "Preparing for multi-region deployments" in home
            # Keys go where xterm.js listens for them (as after a click into the terminal,
            # without the click reaching the app as a mouse event).
            page.focus(".xterm-helper-textarea")
            terminal = page.locator(".textual-terminal")
            home_drawn = terminal.screenshot()
            # Lab 3 is selected on the home screen: enter opens its overview, enter again its
            # first step, whose checks show with their verdicts.
            page.keyboard.press("Enter")
            wait_for(page, screen, lambda t: "Replicate the infrastructure" in t, "Lab 3")
            page.keyboard.press("Enter")
            step = wait_for(
                page,
                screen,
                lambda t: "The secondary stack is deployed and complete" in t and "fail" in t,
                "step 1's checks",
            )
            assert "The secondary stack runs with IsSecondary=true" in step
            # The page really draws what it is sent: its pixels changed from home to the step
            # (a canvas that drew nothing would look the same in both).
            assert terminal.screenshot() != home_drawn
        finally:
            browser.close()


def test_the_page_and_its_websocket_want_the_token(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    link, _process = served
    base = link.split("?", 1)[0]
    with urllib.request.urlopen(link, timeout=10) as page:
        body = page.read().decode()
    token = parse_qs(urlparse(link).query)["token"][0]
    assert f"/ws/{token}" in body  # the page's websocket carries it
    for address in (base, f"{base}?token=wrong", f"{base}ws", f"{base}ws/wrong"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(address, timeout=10)
        assert refused.value.code == 403, address


def test_serve_refuses_what_it_cannot_serve_and_warns_off_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mmtui.cli.serve as serve_module

    refused = invoke("serve", "check")
    assert refused.code == 2
    assert "only `run` and `fleet watch` can be served" in refused.stderr
    # The served command line is parsed once, here, not in every tab that opens.
    unknown = invoke("serve", "run", "--bogus")
    assert unknown.code == 2 and "No such option '--bogus'" in unknown.stderr

    served: list[tuple[str, str, int]] = []

    class Recorder:
        def __init__(self, command: str, host: str, port: int, token: str, title: str) -> None:
            served.append((command, host, port))

        def serve(self, on_listening: Callable[[], None]) -> None:
            on_listening()

    monkeypatch.setattr(serve_module, "TokenServer", Recorder)
    result = invoke("serve", "--host", "0.0.0.0", "--port", "0", "run", "--lab", "3")
    assert result.code == 0, result.stderr
    assert "anyone who can reach this machine" in result.stderr
    assert "other machines too" in result.stdout
    ((command, host, port),) = served
    assert command.endswith("-m mmtui run --lab 3") and host == "0.0.0.0" and port > 0
