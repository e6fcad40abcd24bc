"""Headless Chromium for the course pages, driven over the DevTools protocol (websocket-client).

Debian's ``chromium`` (``make test-docs`` installs it when missing) starts with a fresh
profile and the flags that work on these machines; the test talks to one page target
over its DevTools websocket: it navigates, waits for the load event, records every
request the page makes (requests to any host are blocked, and still reported), evaluates
JavaScript in it and takes screenshots.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from typing import Any, Optional

import pytest

CHROMIUM = os.environ.get("KFX_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--remote-debugging-port=0",
    "--window-size=1280,900",
    "--hide-scrollbars",
]


class Browser:
    """One headless Chromium with one page, over the DevTools protocol."""

    def __init__(self, executable: str = CHROMIUM, timeout: float = 60):
        import websocket

        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="kfx-chromium-")
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port = self._port()
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable")
        # A page that tries the network is reported (requestWillBeSent, then loadingFailed), never let out.
        self.send("Network.setBlockedURLs", urls=["http://*", "https://*", "ws://*", "wss://*"])

    def _port(self) -> int:
        """The DevTools port Chromium chose, from the DevToolsActivePort file of its profile."""
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{CHROMIUM} exited with code {self.process.returncode} before it listened")
            if os.path.exists(path):
                lines = open(path).read().split()
                if lines:
                    return int(lines[0])
            time.sleep(0.1)
        raise RuntimeError(f"{CHROMIUM} did not open its DevTools port within {self.timeout} s")

    def send(self, method: str, **params: Any) -> dict:
        """Calls a DevTools method and returns its result; the events that arrive meanwhile are kept."""
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, event: str) -> dict:
        """Waits for an event (one that already arrived counts)."""
        deadline = time.time() + self.timeout
        while True:
            for message in self.events:
                if message["method"] == event:
                    return message
            if time.time() > deadline:
                raise TimeoutError(f"no {event} within {self.timeout} s")
            message = json.loads(self.socket.recv())
            if "method" in message:
                self.events.append(message)

    def open(self, url: str) -> None:
        """Navigates to ``url`` and waits for its load event; ``events`` then holds this page's events only."""
        self.events = []
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def requests(self) -> list[str]:
        """The URLs the page requested since it was opened."""
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def failed_requests(self) -> list[str]:
        """The requests that failed, by request id and error text."""
        return [
            f"{e['params']['requestId']}: {e['params'].get('errorText')}"
            for e in self.events
            if e["method"] == "Network.loadingFailed"
        ]

    def exceptions(self) -> list[str]:
        """JavaScript exceptions the page threw."""
        return [
            e["params"]["exceptionDetails"].get("text", "")
            for e in self.events
            if e["method"] == "Runtime.exceptionThrown"
        ]

    def screenshot(self, path: str) -> None:
        """Saves the first screen (1280×900) as a PNG."""
        data = self.send("Page.captureScreenshot", format="png")["data"]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.socket.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Any:
    """A headless Chromium for the whole session (``make test-docs`` installs it when missing)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing; run `make test-docs` (as root it installs Debian's chromium).")
    chromium: Optional[Browser] = Browser()
    yield chromium
    chromium.close()
