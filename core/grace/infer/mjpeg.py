"""An MJPEG-over-HTTP reader (``multipart/x-mixed-replace`` of JPEG parts) on ``http.client``.

Written here rather than left to OpenCV's FFmpeg back-end so that timeouts, reconnection and
stopping from another thread are ours to control: :meth:`MjpegGrabber.interrupt` shuts the
socket down, which ends a blocked read at once.
"""

from __future__ import annotations

import base64
import http.client
import socket
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import numpy as np

MAX_PART_BYTES = 64 * 1024 * 1024
_MAX_LINE = 65536


class NotMjpeg(Exception):
    """The URL answered, but not with a multipart stream (hand it to OpenCV instead)."""


def boundary_of(content_type: str) -> bytes | None:
    """The multipart boundary of a ``Content-Type`` header, without leading dashes."""
    if not content_type.lower().startswith("multipart/"):
        return None
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "boundary":
            return value.strip().strip('"').encode("latin-1").strip(b"-") or None
    return None


def _is_boundary(line: bytes, boundary: bytes) -> bool:
    s = line.strip()
    return s.startswith(b"--") and s.strip(b"-") == boundary


class MultipartReader:
    """Bodies of the parts of a multipart stream, one per :meth:`next_part`.

    Uses each part's ``Content-Length`` where given, otherwise reads up to the next boundary
    line. Tolerates a boundary declared with or without its leading dashes and a server that
    omits the boundary before the first part.
    """

    def __init__(self, fp: BinaryIO, boundary: bytes | None) -> None:
        self.fp, self.boundary = fp, boundary
        self._at_headers = False  # the previous part ended on the next boundary line
        self._first = True

    def _headers(self, line: bytes) -> dict[str, str] | None:
        headers: dict[str, str] = {}
        while line and line.strip():
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
            line = self.fp.readline(_MAX_LINE)
        return headers if line else None

    def next_part(self) -> bytes | None:
        """The next part's body, ``None`` at the end of the stream."""
        fp, boundary = self.fp, self.boundary
        line = fp.readline(_MAX_LINE)
        if not self._at_headers:
            while line:
                if boundary and _is_boundary(line, boundary):
                    line = fp.readline(_MAX_LINE)
                    break
                if self._first and line.lower().startswith(b"content-"):
                    break  # no boundary before the first part
                line = fp.readline(_MAX_LINE)
        self._first = self._at_headers = False
        headers = self._headers(line) if line else None
        if headers is None:
            return None
        length = headers.get("content-length", "")
        if length.isdigit():
            n = int(length)
            if n > MAX_PART_BYTES:
                raise OSError(f"MJPEG part of {n} bytes is too large")
            data = fp.read(n)
            return data if len(data) == n else None
        chunks, size = [], 0
        while True:
            line = fp.readline(_MAX_LINE)
            if not line:
                return None
            if boundary and _is_boundary(line, boundary):
                self._at_headers = True
                break
            chunks.append(line)
            size += len(line)
            if size > MAX_PART_BYTES:
                raise OSError("MJPEG part without a boundary in 64 MB")
        data = b"".join(chunks)
        return data[:-2] if data.endswith(b"\r\n") else data.rstrip(b"\n")


class MjpegGrabber:
    """Frames of an MJPEG stream at ``url`` (http or https; ``user:password@`` is sent as basic
    authentication). ``open`` raises :class:`OSError` when the server cannot be reached or
    answers with an error, :class:`NotMjpeg` when it answers with something else."""

    finite = False
    fps: float | None = None

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url, self.timeout = url, float(timeout)
        self.name = url
        self._conn: http.client.HTTPConnection | None = None
        self._sock: socket.socket | None = None
        self._resp: http.client.HTTPResponse | None = None
        self._parts: MultipartReader | None = None

    def open(self) -> None:
        u = urlsplit(self.url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise OSError("not an http(s) URL")
        cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        conn = cls(u.hostname, u.port, timeout=self.timeout)
        headers = {"Accept": "multipart/x-mixed-replace, image/jpeg, */*", "User-Agent": "grace"}
        if u.username is not None:
            token = f"{unquote(u.username)}:{unquote(u.password or '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        try:
            conn.request("GET", path, headers=headers)
            self._sock = conn.sock
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise OSError(f"cannot connect ({e or type(e).__name__})") from None
        if resp.status != 200:
            conn.close()
            raise OSError(f"HTTP {resp.status} {resp.reason}")
        ctype = resp.getheader("Content-Type", "") or ""
        boundary = boundary_of(ctype)
        if boundary is None:
            conn.close()
            raise NotMjpeg(ctype or "no Content-Type")
        self._conn, self._resp = conn, resp
        self._parts = MultipartReader(resp, boundary)

    def read(self) -> np.ndarray | None:
        """The next decodable frame, ``None`` when the stream ended or broke."""
        import cv2

        if self._parts is None:
            return None
        for _ in range(10):  # a few undecodable parts are skipped, a run of them is a drop
            try:
                data = self._parts.next_part()
            except (OSError, http.client.HTTPException, ValueError):
                return None
            if data is None:
                return None
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if img is not None:
                return img
        return None

    def interrupt(self) -> None:
        """End a read blocked in another thread (safe to call at any time)."""
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.interrupt()
        if self._conn is not None:
            self._conn.close()
        if self._resp is not None:
            self._resp.close()
        self._conn = self._resp = self._sock = self._parts = None
