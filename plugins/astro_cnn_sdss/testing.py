"""A local stand-in for the SDSS services (SkyServer ImgCutout and SQL, SAS frames) for tests and benchmarks.

It serves real files from a directory at the real services' paths on ``127.0.0.1``, so the
code that talks to SDSS runs unchanged, and it can inject faults: delays, HTTP 500, HTTP 429 or 503
with ``Retry-After``, dropped connections, truncated and corrupt bodies.  It counts the TCP
connections it accepts and records when each request arrived.

Layout of the served directory::

    frames/frame-<band>-<run6>-<camcol>-<field4>.fits.bz2   served under /sas/dr17/eboss/photoObj/frames/...
    jpeg/*.jpg                                             answers to ImgCutout requests
    sql/*.csv                                              recorded SQL answers (first line: ``-- <substring>``)
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.parse
import zlib
from collections import deque
from pathlib import Path

__all__ = ["SDSSTestServer", "garble"]


class SDSSTestServer:
    """Serve ``root`` like SkyServer and the SAS on ``127.0.0.1`` (a free port), in a background thread.

    Parameters
    ----------
    root : path
        Directory laid out as in the module docstring.
    latency : float
        Seconds added to every request.

    Attributes
    ----------
    url : str
        ``http://127.0.0.1:<port>``; SkyServer base is ``skyserver_url``, SAS base ``sas_url``.
    requests : list of str
        Path (with query) of every request received.
    times : list of float
        :func:`time.monotonic` arrival time of each request, in the order of ``requests``.
    connections : int
        TCP connections accepted (a client that keeps its connections open makes fewer than requests).
    max_in_flight : int
        Largest number of requests the server was answering at the same moment.

    Examples
    --------
    >>> with SDSSTestServer("tests/data/sdss") as server:  # doctest: +SKIP
    ...     server.fail("/sas", "500", "truncate")          # next two frame requests fail
    """

    def __init__(self, root: str | Path, latency: float = 0.0):
        self.root = Path(root)
        self.latency = latency
        self.requests: list[str] = []
        self.times: list[float] = []
        self.connections = 0
        self.max_in_flight = 0
        self._in_flight = 0
        self._faults: deque[tuple[str, str]] = deque()
        self._lock = threading.Lock()
        self._jpegs = sorted((self.root / "jpeg").glob("*.jpg"))
        self._sql = [_read_recorded(p) for p in sorted((self.root / "sql").glob("*.csv"))]
        self._jpeg_map: dict[tuple[float, float], Path] = {}
        handler = _handler(self)
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 128
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.skyserver_url = f"{self.url}/dr17"
        self.sas_url = f"{self.url}/sas/dr17/eboss"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> SDSSTestServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def fail(self, prefix: str, *actions: str) -> None:
        """Make the next requests whose path starts with ``prefix`` fail, one action each, in order.

        Actions: ``"500"`` (or any status code), ``"429 Retry-After: 1"`` (a status code sent with
        that ``Retry-After`` header), ``"drop"`` (close without answering), ``"truncate"``
        (announce the full length, send half), ``"corrupt"`` (garble the middle of the body),
        ``"delay:<seconds>"`` (answer normally after a pause).
        """
        with self._lock:
            self._faults.extend((prefix, a) for a in actions)

    def jpeg_at(self, ra: float, dec: float, name: str) -> None:
        """Answer ImgCutout requests at (ra, dec) with ``jpeg/<name>``."""
        self._jpeg_map[(round(ra, 5), round(dec, 5))] = self.root / "jpeg" / name

    def _fault(self, path: str) -> str | None:
        with self._lock:
            for item in self._faults:
                if path.startswith(item[0]):
                    self._faults.remove(item)
                    return item[1]
        return None

    def _answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes, str]:
        if path.startswith("/sas/"):
            file = self.root / "frames" / Path(path).name
            if not file.is_file():
                return 404, f"no such frame: {file.name}".encode(), "text/plain"
            return 200, file.read_bytes(), "application/x-bzip2"
        if path.endswith("/SkyServerWS/ImgCutout/getjpeg"):
            ra, dec = float(query["ra"][0]), float(query["dec"][0])
            file = self._jpeg_map.get((round(ra, 5), round(dec, 5)))
            if file is None:
                file = self._jpegs[zlib.crc32(f"{ra:.7f} {dec:.7f}".encode()) % len(self._jpegs)]
            return 200, file.read_bytes(), "image/jpeg"
        if path.endswith("/SkyServerWS/SearchTools/SqlSearch"):
            cmd = query.get("cmd", [""])[0]
            for needle, body in self._sql:
                if needle in cmd:
                    return 200, body, "text/plain"
            header = b"run,rerun,camcol,field\n" if "FROM Field" in cmd else b"objID,ra,dec\n"
            return 200, b"#Table1\n" + header, "text/plain"
        return 404, f"no such service: {path}".encode(), "text/plain"


def garble(body: bytes) -> bytes:
    """Return ``body`` as the ``"corrupt"`` fault serves it: 64 bytes in the middle XORed with 0x5A.

    The length is kept, so only a check of the content can tell (bodies of 64 bytes or less are kept).
    """
    if len(body) <= 64:
        return body
    middle = len(body) // 2
    return body[:middle] + bytes(b ^ 0x5A for b in body[middle:middle + 64]) + body[middle + 64:]


def _read_recorded(path: Path) -> tuple[str, bytes]:
    first, _, body = path.read_bytes().partition(b"\n")
    return first.decode().removeprefix("--").strip(), body


def _handler(server: SDSSTestServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output quiet
            return None

        def setup(self) -> None:  # once per accepted TCP connection
            super().setup()
            with server._lock:
                server.connections += 1

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            with server._lock:
                server.requests.append(self.path)
                server.times.append(time.monotonic())
            parts = urllib.parse.urlsplit(self.path)
            if server.latency:
                with server._lock:
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                time.sleep(server.latency)
                with server._lock:
                    server._in_flight -= 1
            fault = server._fault(parts.path)
            if fault == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if fault and fault.startswith("delay:"):
                time.sleep(float(fault.split(":")[1]))
                fault = None
            code, _, retry_after = (fault or "").partition(" Retry-After: ")
            if code.isdigit():
                self._send(int(code), b"injected failure", "text/plain",
                           headers={"Retry-After": retry_after} if retry_after else {})
                return
            status, body, kind = server._answer(parts.path, urllib.parse.parse_qs(parts.query))
            if fault == "corrupt":
                body = garble(body)
            self._send(status, body, kind, truncate=fault == "truncate")

        def _send(self, status: int, body: bytes, kind: str, truncate: bool = False,
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if truncate:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if truncate else body)
            if truncate:
                self.close_connection = True

    return Handler
