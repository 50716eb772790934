"""A live MJPEG stream served on 127.0.0.1 by the test: newest frame only (dropped frames are
counted, lag stays within one inference) and reconnection after the server restarts."""

from __future__ import annotations

import threading
import time

import pytest
from _infer_helpers import LOW_CONF
from _mjpeg_server import MjpegServer, decode_counter

from grace.errors import GraceError
from grace.infer.live import ReconnectPolicy
from grace.infer.run import PredictRequest, run_predict

pytestmark = pytest.mark.slow

FPS = 30.0


@pytest.fixture(autouse=True)
def _no_thread_left_behind():
    """Every reader, decoder and server thread a test starts has ended when it returns."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
        if not left:
            return
        time.sleep(0.05)
    pytest.fail(f"threads still running: {[t.name for t in left]}")


class SlowPredictor:
    """The real predictor, ``delay`` seconds slower per frame; notes at each call the frame's
    own number and the number the server is sending at that moment."""

    def __init__(self, inner, server: MjpegServer, delay: float) -> None:
        self.inner, self.server, self.delay = inner, server, delay
        self.names, self.model_name = inner.names, inner.model_name
        self.seen: list[tuple[int, int, int, float]] = []  # (index, counter, server now, time)

    @property
    def thresholds(self):
        return self.inner.thresholds

    @thresholds.setter
    def thresholds(self, value) -> None:
        self.inner.thresholds = value

    def predict(self, frames):
        for f in frames:
            self.seen.append((f.index, decode_counter(f.image), self.server.counter(), f.time))
        time.sleep(self.delay)
        return self.inner.predict(frames)


def _req(weights, url, **kw) -> PredictRequest:
    policy = ReconnectPolicy(initial_delay=0.1, max_delay=0.4, max_attempts=15)
    return PredictRequest(str(weights), url, conf=LOW_CONF, imgsz=64, device="cpu",
                          reconnect=policy, timeout=2.0, **kw)  # fmt: skip


def test_slow_inference_drops_frames_and_stays_within_one_inference(predictor, tmp_path):
    with MjpegServer(FPS) as server:
        slow = SlowPredictor(predictor, server, delay=0.2)  # 6 frame intervals per inference
        out = tmp_path / "live"
        req = _req(predictor.weights, server.url, max_frames=12, duration=20, out=str(out),
                   save_csv=True, save_img=True)  # fmt: skip
        s = run_predict(req, predictor=slow, log=None)
    assert (s.kind, s.images, s.stop_reason) == ("stream", 12, "max frames reached")
    indices = [i for i, *_ in slow.seen]
    gaps = sum(b - a - 1 for a, b in zip(indices, indices[1:], strict=False))
    # every frame the model skipped was replaced in the slot unread, and counted
    assert s.dropped > 0 and gaps > 0
    assert gaps <= s.dropped <= gaps + int(2 * FPS)
    # each frame handed to the model is the newest one read, not the next in a queue: a queue
    # hands consecutive frames and falls behind by at least 5 more at every inference (each
    # takes over 6 frame intervals), 55 by the twelfth. Bounds that only a queue breaks, not a
    # busy machine (how many frames behind it runs on this machine is printed, not asserted).
    lags = [now - counter for _, counter, now, _ in slow.seen]
    counters = [c for _, c, _, _ in slow.seen]
    print(f"\nlive lag behind the server, frames at {FPS:.0f} fps: {lags}")
    assert min(lags) >= 0 and lags[-1] < 5 * (len(lags) - 1), lags
    assert all(b - a > 1 for a, b in zip(counters, counters[1:], strict=False)), counters
    assert s.files["csv"] and len(s.files["videos"]) == 1


def test_stream_reconnects_after_the_server_restarts(predictor):
    server = MjpegServer(FPS).start()
    restarted = {}
    logs: list[str] = []

    def restart() -> None:
        time.sleep(1.0)
        server.stop()
        time.sleep(0.6)
        server.start()  # same port
        restarted["at"] = time.time()

    t = threading.Thread(target=restart, daemon=True)
    try:
        slow = SlowPredictor(predictor, server, delay=0.02)
        t.start()
        s = run_predict(_req(predictor.weights, server.url, duration=3.2), predictor=slow,
                        log=logs.append)  # fmt: skip
        t.join(5)
    finally:
        server.stop()
    assert s.stop_reason == "duration reached"
    assert s.reconnects >= 1 and s.reconnect_attempts >= s.reconnects
    assert any("dropped" in m for m in logs) and any("reconnected" in m for m in logs)
    after = [c for _, c, _, when in slow.seen if when > restarted["at"]]
    assert len(after) >= 5  # frames keep coming after the restart
    assert server.connections >= 2


def test_stream_lost_for_good_ends_the_run_and_says_so(predictor):
    server = MjpegServer(FPS).start()
    logs: list[str] = []
    timer = threading.Timer(0.8, server.stop)
    timer.start()
    req = _req(predictor.weights, server.url, duration=20)
    req.reconnect = ReconnectPolicy(initial_delay=0.05, max_delay=0.1, max_attempts=3)
    s = run_predict(req, predictor=predictor, log=logs.append)
    timer.join(5)
    server.stop()
    assert s.stop_reason.startswith("stream lost after 3 reconnect attempts")
    assert s.images > 0 and s.reconnects == 0 and s.reconnect_attempts == 3
    assert any("stream lost" in m for m in logs)


def test_unreachable_url_is_one_error_after_the_bounded_retries(predictor):
    server = MjpegServer(FPS).start()
    url = server.url
    server.stop()  # nothing listens on that port now
    req = _req(predictor.weights, url)
    req.reconnect = ReconnectPolicy(initial_delay=0.05, connect_attempts=2)
    with pytest.raises(GraceError, match=r"cannot connect .*2 attempts") as e:
        run_predict(req, predictor=predictor, log=None)
    assert "\n" not in str(e.value)
