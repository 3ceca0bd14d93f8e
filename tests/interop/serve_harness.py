"""Running `nlk serve` (and ROAPI) as subprocesses on loopback for the HTTP tests and benchmarks."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import nlkcli

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status: int, headers: dict, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class Server:
    """A started HTTP server process; `request` talks to it over a fresh connection (HTTPS with
    `ssl_context`)."""

    def __init__(self, process: subprocess.Popen, port: int, log: Path, name: str,
                 ssl_context: ssl.SSLContext | None = None):
        self.process = process
        self.port = port
        self.log = log
        self.name = name
        self.ssl_context = ssl_context

    def connection(self, timeout: float = 30.0) -> http.client.HTTPConnection:
        if self.ssl_context is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.ssl_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict | None = None, timeout: float = 30.0) -> Response:
        connection = self.connection(timeout)
        try:
            if isinstance(body, str):
                body = body.encode()
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
            return Response(response.status, {k.lower(): v for k, v in response.getheaders()},
                            data)
        finally:
            connection.close()

    def get(self, path: str, accept: str | None = None, **kwargs) -> Response:
        return self.request("GET", path, headers={"Accept": accept} if accept else None, **kwargs)

    def sql(self, query: str, accept: str | None = None, **kwargs) -> Response:
        return self.request("POST", "/api/sql", body=query,
                            headers={"Accept": accept} if accept else None, **kwargs)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Waits until something accepts connections on 127.0.0.1:PORT."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


def raw_exchange(port: int, payload: bytes, wait: float = 5.0, half_close: bool = False) -> bytes:
    """Sends raw bytes to 127.0.0.1:PORT and returns everything the server sends back before it
    closes the connection or goes quiet for `wait` seconds. With `half_close` the sending side is
    shut down after the payload, as a client that has nothing more to say."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as connection:
        try:
            connection.sendall(payload)
            if half_close:
                connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before reading everything
        data = b""
        while True:
            try:
                chunk = connection.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            data += chunk
        return data


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not server.alive():
            raise AssertionError(f"{server.name} exited with {server.process.returncode}:\n"
                                 f"{server.log_text()}")
        try:
            if server.get("/health", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    server.stop()
    raise AssertionError(f"{server.name} did not become healthy in {START_TIMEOUT}s:\n"
                         f"{server.log_text()}")


def start_nlk_serve(args: list[str], log_dir: Path, port: int | None = None,
                    ssl_context: ssl.SSLContext | None = None) -> Server:
    """`nlk serve ARGS -a 127.0.0.1:PORT`, waiting until /health answers (over HTTPS with
    `ssl_context`)."""
    reason = nlkcli.missing_reason()
    if reason:
        raise AssertionError(reason)
    port = port or free_port()
    log = log_dir / f"nlk-serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(nlkcli.nlk_path()), "serve", *map(str, args), "-a",
                                    f"127.0.0.1:{port}"], stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    server = Server(process, port, log, "nlk serve", ssl_context)
    _wait_healthy(server)
    return server


def roapi_path() -> str | None:
    venv = REPO_ROOT / ".venv" / "bin" / "roapi"
    if venv.exists():
        return str(venv)
    return shutil.which("roapi")


def write_roapi_config(path: Path, tables: list[dict], http_port: int) -> Path:
    """A ROAPI YAML config; its Postgres and FlightSQL listeners get free ports of their own
    so that several servers can run side by side."""
    lines = ["addr:", f"  http: 127.0.0.1:{http_port}", f"  postgres: 127.0.0.1:{free_port()}",
             f"  flight_sql: 127.0.0.1:{free_port()}", "tables:"]
    for table in tables:
        lines.append(f"  - name: \"{table['name']}\"")
        lines.append(f"    uri: \"{table['uri']}\"")
        lines.append("    option:")
        lines.append(f"      format: \"{table.get('format', 'delta')}\"")
        if "use_memory_table" in table:
            lines.append(f"      use_memory_table: {str(table['use_memory_table']).lower()}")
    path.write_text("\n".join(lines) + "\n")
    return path


def start_roapi(config: Path, port: int, log_dir: Path, options: list[str] = ()) -> Server:
    """`roapi -c CONFIG OPTIONS...`, waiting until /health answers."""
    binary = roapi_path()
    if binary is None:
        raise AssertionError("roapi not installed: scripts/bootstrap.sh --tests")
    log = log_dir / f"roapi-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([binary, "-c", str(config), *options], stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env={**os.environ, "RUST_LOG": "warn"})
    server = Server(process, port, log, "roapi")
    _wait_healthy(server)
    return server


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0
