"""A headless Chromium driven over the Chrome DevTools Protocol, for tests of static pages.

Debian's `chromium` package plus the `websocket-client` wheel (scripts/requirements-tests.txt)
are all it needs: no browser download, no driver binary, nothing from the network. The browser
runs with a fresh profile in a temporary directory and is killed when the context manager exits.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

# Flags that keep a headless Chromium from reaching the network or touching the user's profile.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
    "--remote-debugging-port=0", "--remote-allow-origins=*",
]


def chromium_path() -> str | None:
    return os.environ.get("NLK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(AssertionError):
    pass


def _group_running(group: int) -> bool:
    """Whether a process of the process group runs (zombies do not count: where nothing reaps
    orphans they stay, but write nothing)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


class Browser:
    """One page of a headless Chromium: navigate, evaluate JavaScript, press keys, screenshot."""

    def __init__(self, timeout: float = 30.0):
        self.timeout = timeout
        self._profile = Path(tempfile.mkdtemp(prefix="nlk-chromium-"))
        self._process: subprocess.Popen | None = None
        self._socket: websocket.WebSocket | None = None
        self._next_id = 0

    def __enter__(self) -> "Browser":
        executable = chromium_path()
        if executable is None:
            raise BrowserError("chromium not found: apt-get install -y chromium (scripts/bootstrap.sh)")
        # Chromium keeps its singleton socket in a temporary directory that a killed browser
        # leaves behind: keep it inside the profile, which __exit__ removes.
        scratch = self._profile / "tmp"
        scratch.mkdir()
        # Its own process group, so the renderer, zygote and crash handler it starts can be
        # stopped with it.
        self._process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            env={**os.environ, "TMPDIR": str(scratch)}, start_new_session=True)
        port = self._wait_for_port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=self.timeout) as r:
            targets = json.load(r)
        pages = [t for t in targets if t.get("type") == "page"]
        if not pages:
            raise BrowserError(f"chromium opened no page: {targets}")
        self._socket = websocket.create_connection(pages[0]["webSocketDebuggerUrl"],
                                                   timeout=self.timeout, suppress_origin=True)
        self.call("Page.enable")
        self.call("Runtime.enable")
        return self

    def __exit__(self, *exc) -> None:
        if self._socket is not None:
            try:
                # A clean close stops every Chromium process and ends its writes to the profile.
                self._socket.send(json.dumps({"id": self._next_id + 1, "method": "Browser.close"}))
            except (OSError, websocket.WebSocketException):
                pass
            self._socket.close()
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._process.wait(timeout=self.timeout)
            # A child still running could write into the profile after it is removed.
            deadline = time.monotonic() + self.timeout
            while _group_running(self._process.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(self._profile, ignore_errors=True)

    def _wait_for_port(self) -> int:
        marker = self._profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrowserError(f"chromium exited with {self._process.returncode} at start")
            if marker.exists():
                lines = marker.read_text().split()
                if lines:
                    return int(lines[0])
            time.sleep(0.05)
        raise BrowserError(f"chromium did not open its DevTools port within {self.timeout}s")

    def call(self, method: str, **params) -> dict:
        """Sends one CDP command and returns its result, skipping the events in between."""
        self._next_id += 1
        message_id = self._next_id
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = json.loads(self._socket.recv())
            if message.get("id") != message_id:
                continue
            if "error" in message:
                raise BrowserError(f"{method} failed: {message['error']}")
            return message.get("result", {})
        raise BrowserError(f"{method} got no answer within {self.timeout}s")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript failed: {expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise BrowserError(f"timed out waiting for {what} ({expression})")

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for_page(url)

    def wait_for_page(self, url_suffix: str) -> None:
        self.wait_for(f"location.href.endsWith({json.dumps(url_suffix.split('/')[-1])}) && "
                      "document.readyState === 'complete'", f"page {url_suffix}")

    def set_width(self, width: int, height: int, mobile: bool = False) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=mobile)

    def press(self, key: str) -> None:
        """Presses one key as a user would (keydown with its text, then keyup)."""
        codes = {"Enter": 13, "ArrowDown": 40, "ArrowUp": 38, "Escape": 27, "/": 191}
        event = {"key": key, "code": key, "windowsVirtualKeyCode": codes.get(key, 0)}
        if key == "Enter":
            event["text"] = "\r"
        elif len(key) == 1:
            event["text"] = key
        self.call("Input.dispatchKeyEvent", type="keyDown", **event)
        self.call("Input.dispatchKeyEvent", type="keyUp", **event)

    def type_text(self, text: str) -> None:
        for character in text:
            self.call("Input.dispatchKeyEvent", type="keyDown", key=character, text=character)
            self.call("Input.dispatchKeyEvent", type="keyUp", key=character)

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        params = {"format": "png"}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                                "scale": 1})
        result = self.call("Page.captureScreenshot", **params)
        path.write_bytes(base64.b64decode(result["data"]))
        return path
