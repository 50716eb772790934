"""The Guide's words (Qt-free): every tab and every term the issue names, one sentence each."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from grace_gui.help_texts import TABS, TERMS, guide_html

ROOT = Path(__file__).resolve().parents[2]
ASKED_FOR = [
    "DS-CBSM++", "Lite-FEN", "w_base", "w_dyn", "w_final", "g_ema", "c_ema", "γ_e", "ŝ_e",
    "mAP50", "mAP50-95", "COCO size buckets", "Deployed protocol", "Ultralytics protocol",
]  # fmt: skip


def test_every_tab_and_term_has_one_sentence():
    assert list(TABS) == ["Dataset", "Train", "Inference", "Evaluate", "Review", "Eigen-CAM"]
    assert set(ASKED_FOR) <= set(TERMS)
    for name, text in {**TABS, **TERMS}.items():
        assert text[0].isupper() and text.endswith("."), name
        assert not re.search(r"[.!?] [A-Z]", text[:-1]), f"{name}: more than one sentence"
        assert len(text) <= 240, f"{name}: {len(text)} characters, too long for a tooltip"


def test_the_guide_page_holds_every_sentence():
    page = guide_html(
        {"Dataset": "Opens <files> & more."}, {"w_final": "A & B."}
    )  # escaped as HTML
    assert "<b>Dataset</b></dt><dd>Opens &lt;files&gt; &amp; more.</dd>" in page
    assert "<b>w_final</b></dt><dd>A &amp; B.</dd>" in page
    full = guide_html()
    for name, text in {**TABS, **TERMS}.items():
        assert f"<dd>{text.replace('&', '&amp;')}</dd>" in full, name


def test_help_texts_and_about_import_no_qt():
    """The tabs' sessions may import them: neither pulls in Qt."""
    code = (
        "import sys; import grace_gui.help_texts, grace_gui.about; "
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'superqt'))))"
    )
    env_path = f"{ROOT / 'core'}:{ROOT}"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_about_lists_each_gpu_or_the_cpu_and_names_missing_libraries():
    from grace_gui.about import NOT_INSTALLED, about_facts, distribution_version

    cpu = dict(about_facts([]))
    assert cpu["Device"] == "CPU (no CUDA GPU found)" and "GPU 0" not in cpu
    gpus = about_facts(["0: NVIDIA H200", "1: NVIDIA A100 80GB"])
    assert gpus[1:3] == [("GPU 0", "NVIDIA H200"), ("GPU 1", "NVIDIA A100 80GB")]
    assert "Device" not in dict(gpus)
    assert distribution_version("cv2", {"cv2": ["no-such-distribution-xyz"]}) == NOT_INSTALLED
    assert distribution_version("nothing_provides_this", {}) == NOT_INSTALLED
