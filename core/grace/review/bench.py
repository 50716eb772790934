"""Review-store benchmark figures (not tests): opening a large store and fetching the next open
item, and one decision followed by the next open item. ``python -m grace.review.bench`` prints
them; ``grace bench`` includes them."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from grace.review.store import ImageEntry, ItemEntry, ReviewStore, create_store


def synthetic_store(path: Path, n_items: int = 10_000, per_image: int = 4) -> Path:
    """A store of ``n_items`` false-positive items, ``per_image`` per 200x200 image."""
    n_images = max(1, n_items // per_image)
    labels = [{"class": "a", "box": [10.0, 10.0, 50.0, 50.0]}]
    images = [ImageEntry(f"/nonexistent/{i}.jpg", 200, 200, labels, "ground_truth", [])
              for i in range(n_images)]  # fmt: skip
    items = [ItemEntry(k % n_images, "errors", "false_positive", (k * 7919 % 1000) / 1000, "a",
                       [1.0, 1.0, 20.0, 20.0], 0.5, None,
                       {"class": "a", "box": [1.0, 1.0, 20.0, 20.0]}, None, "/m.pt", "0" * 64,
                       {"conf": 0.25, "per_class": {}}) for k in range(n_items)]  # fmt: skip
    return create_store(path, {"names": ["a", "b"]}, images, items)


def review_store_figures(n_items: int = 10_000, decided: int = 1_000, repeats: int = 5) -> dict:
    """Median seconds to open a store of ``n_items`` items (``decided`` of them decided) and
    fetch its next open item, and to record a decision and fetch the next open item."""
    with tempfile.TemporaryDirectory(prefix="grace-review-bench-") as tmp:
        path = synthetic_store(Path(tmp) / "bench.db", n_items)
        with ReviewStore(path) as st:
            for i in range(1, decided + 1):
                st.decide(i, "reject", who="bench")
        opens, decides = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            with ReviewStore(path) as st:
                nxt = st.next_open()
                opens.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                st.decide(nxt.id, "accept", who="bench")
                st.next_open(after=nxt.id)
                decides.append(time.perf_counter() - t0)
    return {
        "review_store_open_s": round(statistics.median(opens), 4),
        "review_decide_next_s": round(statistics.median(decides), 4),
        "review_store_items": n_items,
        "review_store_decided": decided,
    }


if __name__ == "__main__":
    print(json.dumps(review_store_figures()))
