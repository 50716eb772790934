"""A test MJPEG server on 127.0.0.1: multipart/x-mixed-replace JPEG frames at a fixed rate, each
frame carrying its number (from the server's clock) as 16 black/white blocks."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

BITS, BLOCK = 16, 8


def encode_counter(n: int) -> np.ndarray:
    """A 128x32 BGR image whose 16 blocks spell ``n`` in binary (most significant first)."""
    img = np.zeros((4 * BLOCK, BITS * BLOCK, 3), np.uint8)
    for i in range(BITS):
        if (n >> (BITS - 1 - i)) & 1:
            img[:, i * BLOCK : (i + 1) * BLOCK] = 255
    return img


def decode_counter(img: np.ndarray) -> int:
    """The number drawn by :func:`encode_counter` (robust to JPEG)."""
    n = 0
    for i in range(BITS):
        block = img[BLOCK : 3 * BLOCK, i * BLOCK + 2 : (i + 1) * BLOCK - 2]
        n = (n << 1) | int(block.mean() > 127)
    return n


class MjpegServer:
    """``start()``/``stop()`` (repeatable, same port); ``counter()`` is the frame number the
    server is sending now; ``url`` the stream's address. Every thread ends on ``stop()``."""

    def __init__(self, fps: float = 30.0, boundary: str = "frame", length: bool = True):
        self.fps, self.boundary, self.length = fps, boundary, length
        self.port = 0
        self.t0 = time.monotonic()
        self.connections = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def counter(self) -> int:
        return int((time.monotonic() - self.t0) * self.fps)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server.connections += 1
                self.send_response(200)
                self.send_header(
                    "Content-Type", f"multipart/x-mixed-replace; boundary={server.boundary}"
                )
                self.end_headers()
                sent = -1
                deadline = time.monotonic() + 60  # a client left behind cannot hold the server
                while not server._stop.is_set() and time.monotonic() < deadline:
                    n = server.counter()
                    if n == sent:
                        time.sleep(0.002)
                        continue
                    ok, jpg = cv2.imencode(
                        ".jpg", encode_counter(n), [cv2.IMWRITE_JPEG_QUALITY, 90]
                    )
                    head = f"--{server.boundary}\r\nContent-Type: image/jpeg\r\n"
                    if server.length:
                        head += f"Content-Length: {len(jpg)}\r\n"
                    try:
                        self.wfile.write(head.encode() + b"\r\n" + jpg.tobytes() + b"\r\n")
                        self.wfile.flush()
                    except OSError:
                        return
                    sent = n

        return Handler

    def start(self) -> MjpegServer:
        self._stop.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> MjpegServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
