"""A local stand-in for the CDS HiPS services (hips2fits and the MOC server) for tests, with real pixels.

:class:`HiPSTestServer` answers on ``127.0.0.1`` at the real services' paths:

``/hips-image-services/hips2fits?hips=...&width=...&height=...&projection=TAN&fov=...&ra=...&dec=...&format=...``
    The band is the last part of the HiPS identifier (``CDS/P/SDSS9/r`` -> ``r``); the real SDSS
    corrected frame of that band (``frame-<band>-*.fits[.bz2]`` in ``frames_dir``) is resampled with
    :func:`reproject.reproject_interp` onto the requested TAN grid (the one
    :func:`astro_cnn_hips.survey.tangent_wcs` describes; NaN outside the frame) and served as FITS
    in nanomaggies.  An identifier holding ``color``/``Color`` is a colour HiPS: i, r, g as red,
    green, blue (asinh stretch), rows from north down, served as JPEG or PNG.  A band with no
    frame answers 404, as hips2fits does for an unknown HiPS.
``/MocServer/query?ID=...&get=moc&fmt=fits``
    The recorded MOC (``moc_path``) for every identifier.

Faults are injected per path prefix with :meth:`HiPSTestServer.fail`.
"""

from __future__ import annotations

import http.server
import io
import threading
import time
import urllib.parse
import warnings
from collections import deque
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from .survey import HIPS2FITS_PATH, MOCSERVER_PATH, tangent_wcs

__all__ = ["HiPSTestServer"]


class HiPSTestServer:
    """Serve hips2fits and MOC answers made from real SDSS frames on ``127.0.0.1`` (a free port).

    Parameters
    ----------
    frames_dir : path
        Directory of ``frame-<band>-<run>-<camcol>-<field>.fits[.bz2]`` files (one field).
    moc_path : path
        MOC FITS file answered for every HiPS.
    latency : float
        Seconds added to every request.

    Attributes
    ----------
    url : str
        ``http://127.0.0.1:<port>``, the ``base_url`` of :class:`~astro_cnn_hips.survey.HiPSSurvey`.
    requests : list of str
        Path (with query) of every request received.
    times : list of float
        ``time.monotonic()`` at which each request arrived.
    max_in_flight : int
        Largest number of requests answered at the same moment.
    """

    def __init__(self, frames_dir: str | Path, moc_path: str | Path, latency: float = 0.0):
        self.latency = latency
        self.requests: list[str] = []
        self.times: list[float] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._faults: deque[tuple[str, str]] = deque()
        self._lock = threading.Lock()
        self.moc = Path(moc_path).read_bytes()
        self.frames: dict[str, tuple[np.ndarray, WCS]] = {}
        for path in sorted(Path(frames_dir).glob("frame-*.fits*")):
            with fits.open(path) as hdul, warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                self.frames[path.name.split("-")[1]] = (np.array(hdul[0].data, np.float64), WCS(hdul[0].header))
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> HiPSTestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def fail(self, prefix: str, *actions: str) -> None:
        """Make the next requests whose path starts with ``prefix`` fail, one action each, in order.

        Actions: a status code (``"500"``), ``"429:<seconds>"`` (429 with that ``Retry-After``),
        ``"delay:<seconds>"`` (answer after a pause), ``"garbage"`` (200 with a body that is no
        image), ``"truncate"`` (announce the full length, send half), ``"drop"`` (close unanswered).
        """
        with self._lock:
            self._faults.extend((prefix, action) for action in actions)

    def _fault(self, path: str) -> str | None:
        with self._lock:
            for item in self._faults:
                if path.startswith(item[0]):
                    self._faults.remove(item)
                    return item[1]
        return None

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes, str]:
        """Return (status, body, content type) of a request without faults."""
        if path == MOCSERVER_PATH:
            return 200, self.moc, "application/fits"
        if path != HIPS2FITS_PATH:
            return 404, f"no such service: {path}".encode(), "text/plain"
        try:
            hips = query["hips"][0]
            width, height = int(query["width"][0]), int(query["height"][0])
            fov, ra, dec = float(query["fov"][0]), float(query["ra"][0]), float(query["dec"][0])
            image_format = query.get("format", ["jpg"])[0]
        except (KeyError, ValueError) as exc:
            return 400, f"bad hips2fits request: {exc}".encode(), "text/plain"
        if query.get("projection", ["TAN"])[0] != "TAN" or width != height:
            return 400, b"this test server answers square TAN cutouts only", "text/plain"
        wcs = tangent_wcs(ra, dec, width, fov * 3600.0 / width)
        if "color" in hips.lower():
            return self._colour(wcs, width, image_format)
        band = hips.rsplit("/", 1)[-1]
        if band not in self.frames:
            return 404, f"unknown HiPS {hips}".encode(), "text/plain"
        header = wcs.to_header()
        header["BUNIT"] = "nanomaggy"
        buffer = io.BytesIO()
        fits.PrimaryHDU(self._resample(band, wcs, width).astype(np.float32), header).writeto(buffer)
        return 200, buffer.getvalue(), "application/fits"

    def _resample(self, band: str, wcs: WCS, size: int) -> np.ndarray:
        from reproject import reproject_interp

        image, _ = reproject_interp(self.frames[band], wcs, shape_out=(size, size), order="bilinear")
        return image

    def _colour(self, wcs: WCS, size: int, image_format: str) -> tuple[int, bytes, str]:
        from PIL import Image

        if image_format not in ("jpg", "png"):
            return 400, f"format {image_format} of a colour HiPS".encode(), "text/plain"
        planes = [np.nan_to_num(self._resample(band, wcs, size)) for band in "irg"]
        rgb = np.clip(np.arcsinh(np.stack(planes, -1) / 0.05) / np.arcsinh(10 / 0.05), 0, 1)
        buffer = io.BytesIO()
        Image.fromarray((rgb[::-1] * 255).astype(np.uint8)).save(buffer, "JPEG" if image_format == "jpg" else "PNG")
        return 200, buffer.getvalue(), f"image/{'jpeg' if image_format == 'jpg' else 'png'}"


def _handler(server: HiPSTestServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output quiet
            return None

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            with server._lock:
                server.requests.append(self.path)
                server.times.append(time.monotonic())
                server._in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server._in_flight)
            try:
                self._serve()
            finally:
                with server._lock:
                    server._in_flight -= 1

        def _serve(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            if server.latency:
                time.sleep(server.latency)
            fault = server._fault(parts.path)
            if fault == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if fault and fault.startswith("delay:"):
                time.sleep(float(fault.split(":")[1]))
                fault = None
            if fault and fault.startswith("429:"):
                self._send(429, b"too many requests", "text/plain", {"Retry-After": fault.split(":")[1]})
                return
            if fault and fault.isdigit():
                self._send(int(fault), b"injected failure", "text/plain")
                return
            if fault == "garbage":
                self._send(200, b"<html>temporarily unavailable</html>", "text/html")
                return
            status, body, kind = server.answer(parts.path, urllib.parse.parse_qs(parts.query))
            self._send(status, body, kind, truncate=fault == "truncate")

        def _send(self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None,
                  truncate: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if truncate:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if truncate else body)
            if truncate:
                self.close_connection = True

    return Handler
