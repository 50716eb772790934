"""``grace data ...`` through the real command line: one JSON object, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

from _data_builders import write_image, write_xml


def _grace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grace.cli", *args], capture_output=True, text=True, timeout=120
    )


def _voc(root):
    for i in range(5):
        write_image(root / "JPEGImages" / f"a{i}.jpg", seed=i)
        write_xml(root / "Annotations" / f"a{i}.xml", "", [("Pit" if i else "pit", 1, 1, 30, 30)])
    write_image(root / "JPEGImages" / "lonely.jpg", seed=9)
    return root


def test_import_voc_json_prints_one_object_and_stats_reads_it(tmp_path):
    src, out = _voc(tmp_path / "src"), tmp_path / "out"
    r = _grace("data", "import", "voc", str(src), str(out), "--json", "--classes", "pit")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["names"] == ["pit"] and report["images"] == {"train": 4, "val": 1}
    assert report["problem_counts"] == {"image_without_xml": 1, "class_alias": 4}  # a1..a4
    assert report["problems"][0]["file"].endswith("lonely.jpg")
    r = _grace("data", "stats", str(out), "--json")
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert st["total"]["instances"] == 5 and st["total"]["sizes"]["small"] == 5  # 29x29 px


def test_human_output_is_short_and_names_the_report(tmp_path):
    src, out = _voc(tmp_path / "src"), tmp_path / "out"
    r = _grace("data", "import", "voc", str(src), str(out), "--alias", "Pit=pit")
    assert r.returncode == 0, r.stderr
    assert 'problems: {"image_without_xml": 1, "class_alias": 4}' in r.stdout
    assert f"report_file: {out / 'import_report.json'}" in r.stdout
    r = _grace("data", "stats", str(out / "data.yaml"))
    assert r.returncode == 0, r.stderr
    assert "total: 5 images (0 background), 5 instances; sizes: small 5" in r.stdout


def test_missing_source_is_one_stderr_line_and_nonzero_exit(tmp_path):
    for fmt in ("voc", "neu-det", "yolo"):
        r = _grace(
            "data", "import", fmt, str(tmp_path / "nowhere"), str(tmp_path / "out"), "--json"
        )
        assert r.returncode != 0
        assert r.stdout == ""
        assert len(r.stderr.strip().splitlines()) == 1 and "nowhere" in r.stderr, r.stderr
    r = _grace("data", "stats", str(tmp_path / "nowhere"))
    assert r.returncode != 0 and "nowhere" in r.stderr
    r = _grace("data", "import", "voc", "--help")
    assert r.returncode == 0 and "--alias" in r.stdout and "--classes" in r.stdout
