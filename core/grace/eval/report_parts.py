"""The report's sections as HTML fragments (one function per section; all text escaped)."""

from __future__ import annotations

import json
from typing import Any

from grace.eval.report_html import (
    e,
    img,
    interval_text,
    kv_table,
    pct,
    swatch,
    table,
)
from grace.eval.report_sources import KEY_SETTINGS

FORMAT_NAMES = {"pt": "PyTorch checkpoint (.pt)", "openvino": "OpenVINO (exported)",
                "onnx": "ONNX (exported)"}  # fmt: skip
METRIC_ROWS = (  # key in metrics.json "metrics", label, how it is read
    ("mAP50-95", "mAP@0.5:0.95", "COCO 101-point AP, mean over IoU 0.50:0.05:0.95 and classes"),
    ("mAP50", "mAP@0.5", "COCO 101-point AP at IoU 0.5, mean over classes"),
    ("f1_dataset", "F1 dataset (paper eq. 5)", "2TP/(2TP+FP+FN) pooled over classes"),
)


def _classes(names: list[str]) -> str:
    return ", ".join(f"{swatch(i)}{e(n)}" for i, n in enumerate(names))


def model_section(c: dict[str, Any]) -> str:
    m = c["model"]
    cost = m["cost"]
    variant = m["variant"] or "not recorded (no grace.json with the run)"
    fmt = m.get("format", "pt")
    kind = FORMAT_NAMES.get(fmt, fmt) + (", in a model package" if m.get("package") else "")
    if m["lite_fen"] is None:
        fen = "not known (an exported model: no PyTorch graph to look into)"
    elif m["lite_fen"]:
        fen = "present (variant fen or grace)"
    else:
        fen = "absent (variant baseline or ds)"
    pairs = [
        (
            "checkpoint" if fmt == "pt" and not m.get("package") else "model",
            f"<code>{e(m['path'])}</code>",
        ),
        ("format", e(kind)),
        ("SHA-256", f'<span class="hash">{e(m["sha256"])}</span>'),
        ("size", e(f"{m['bytes'] / 1e6:.2f} MB")),
        ("variant", e(variant)),
        ("Lite-FEN at P3", e(fen)),
        ("classes", _classes(c["names"])),
        ("parameters", e(cost.get("parameters", "—"))),
        ("GFLOPs", e(f"{cost.get('gflops', '—')} at {cost.get('gflops_imgsz', '—')} px")),
        ("saved by", e(f"Ultralytics {m['ultralytics'] or '?'}, {m['date'] or 'date unknown'}")),
    ]
    s = m["settings"]
    key = [(k, e(s[k])) for k in KEY_SETTINGS if k in s]
    body = kv_table(pairs)
    body += f"<h3>Training settings</h3><p class=sub>From {e(m['settings_source'])}.</p>"
    body += kv_table(key) if key else "<p>Not recorded.</p>"
    if s:
        rows = [[e(k), e(v)] for k, v in s.items()]
        body += "<details><summary>All training arguments</summary>"
        body += table(["argument", "value"], rows, num_from=2) + "</details>"
    if m["grace"]:
        text = e(json.dumps(m["grace"], indent=1))
        body += (
            f"<details><summary>GRACE settings (grace.json)</summary><pre>{text}</pre></details>"
        )
    return body


def dataset_section(c: dict[str, Any]) -> str:
    d, names = c["dataset"], c["names"]
    h = d["val_hash"]
    pairs = [
        ("data.yaml", f"<code>{e(d['yaml'])}</code>"),
        (
            "val content hash",
            f'<span class="hash">{e(h["sha256"])}</span><br>'
            f"SHA-256 over the sorted <code>sha256sum</code> lines of the val split's "
            f"{h['images']} images and {h['labels']} label files (names relative to the split)",
        ),
        ("byte-identical image groups", e(d["duplicates"])),
    ]
    splits = list(d["splits"])
    head = ["", *[e(s) for s in splits]]
    rows = [
        ["images", *[e(d["splits"][s]["images"]) for s in splits]],
        ["background images", *[e(d["splits"][s]["background_images"]) for s in splits]],
        ["instances", *[e(d["splits"][s]["instances"]) for s in splits]],
    ]
    for i, n in enumerate(names):
        rows.append(
            [
                f"{swatch(i)}{e(n)}",
                *[e(d["splits"][s]["instances_per_class"].get(n, 0)) for s in splits],
            ]
        )
    body = kv_table(pairs) + "<h3>Counts per split</h3>" + table(head, rows)
    if d["problems"]:
        counts = ", ".join(f"{k} {v}" for k, v in d["problem_counts"].items())
        body += f'<p class="note">grace data stats found {len(d["problems"])} problems: '
        body += f"{e(counts)} (each listed under Problems and notes).</p>"
    else:
        body += '<p class="ok">grace data stats found no problem in the dataset.</p>'
    return body


def metrics_section(c: dict[str, Any]) -> str:
    m, iv = c["metrics"], c["intervals"]
    any_iv = next(iter(iv.values()))
    rows, attrs = [], []
    for key, label, how in METRIC_ROWS:
        v = iv[key]
        at = f" at confidence {m['f1_dataset']['confidence']}" if key == "f1_dataset" else ""
        rows.append([e(label), pct(m["metrics"][key]), interval_text(v.low, v.high), e(how + at)])
        attrs.append(f'data-key="{e(key)}"')
    fd = m["f1_dataset"]
    conf = f"at confidence {m['f1_confidence']}"
    extra = [
        ("mAP75", "mAP@0.75", m.get("mAP75"), "COCO 101-point AP at IoU 0.75"),
        ("precision", "P (mean over classes)", m["metrics"]["precision"], conf),
        ("recall", "R (mean over classes)", m["metrics"]["recall"], conf),
        ("f1_mean_over_classes", "F1 mean over classes", m["metrics"]["f1_mean_over_classes"],
         f"mean of per-class F1 {conf}"),
        *((f"AP_{s}", f"AP {s} (COCO tool)", m["coco"][f"AP_{s}"],
           f"{m['size'][s]['instances']} instances") for s in ("small", "medium", "large")),
    ]  # fmt: skip
    for key, label, value, how in extra:
        rows.append([e(label), pct(value), "", e(how)])
        attrs.append(f'data-key="{e(key)}"')
    body = table(
        ["metric", "value (%)", "95 % interval (%)", "how"],
        rows,
        num_from=1,
        num_to=3,
        attrs=' id="metrics-table"',
        row_attrs=attrs,
    )
    body += (
        f"<p class=sub>Intervals: percentile bootstrap over the {m['images']} val images "
        f"({any_iv.resamples} resamples, seed {any_iv.seed}, numpy default_rng); the pooled "
        f"counts of F1 dataset: TP {fd['tp']}, FP {fd['fp']}, FN {fd['fn']}.</p>"
    )
    shapes = ", ".join(
        f"{s['shape'][0]}×{s['shape'][1]} ({s['images']} images)"
        for s in m.get("input_shapes") or []
    )
    st = m.get("settings") or {}
    pairs = [
        ("protocol", f"<b>{e(m['protocol'])}</b>: {e(m.get('protocol_rule', ''))}"),
        ("network input", e(shapes or "not recorded")),
        ("settings", e(", ".join(f"{k} {v}" for k, v in st.items()))),
        (
            "images",
            e(
                f"{m['images']} evaluated of {m.get('images_in_split', '?')} in the split; "
                f"{m['instances']} instances"
            ),
        ),
        ("AP method", e(m["method"]["ap"])),
        ("figures", e(c["evaluation"])),
    ]
    return body + "<h3>Protocol</h3>" + kv_table(pairs)


def class_section(c: dict[str, Any]) -> str:
    th = c["thresholds"]
    label = ("Calibrated per-class thresholds from " if th.calibrated else "") + th.source
    body = f'<p class="{"sub" if th.calibrated else "note"}">{e(label)}.'
    if th.from_global:
        body += e(f" Not in the file, so at its global conf: {', '.join(th.from_global)}.")
    body += " P, R, F1 at IoU 0.5 counting each class's predictions at or above its threshold.</p>"
    rows, attrs = [], []
    for r in c["class_table"]:
        name = f"{swatch(r['id'])}{e(r['class'])}"
        t = "" if r["threshold"] is None else f"{r['threshold']:.3f}"
        rows.append(
            [
                name,
                e(r["instances"]),
                pct(r["AP50-95"]),
                pct(r["AP50"]),
                t,
                e(r["tp"]),
                e(r["fp"]),
                e(r["fn"]),
                pct(r["precision"]),
                pct(r["recall"]),
                pct(r["f1"]),
            ]
        )
        attrs.append('class="total"' if r["id"] is None else "")
    head = [
        "class",
        "instances",
        "AP@0.5:0.95 (%)",
        "AP@0.5 (%)",
        "threshold",
        "TP",
        "FP",
        "FN",
        "P (%)",
        "R (%)",
        "F1 (%)",
    ]
    return body + table(head, rows, attrs=' id="class-table"', row_attrs=attrs)


def _figure(png: bytes, alt: str, caption: str) -> str:
    return f"<figure>{img(png, alt)}<figcaption>{e(caption)}</figcaption></figure>"


def pr_section(c: dict[str, Any]) -> str:
    return _figure(
        c["figures"]["pr_curves"],
        "precision-recall curves per class",
        "Interpolated precision (COCO envelope) at the 101 recall points, IoU 0.5, "
        "one curve per class in its colour; dashed: the mean over classes.",
    )


def bars_section(c: dict[str, Any]) -> str:
    return _figure(
        c["figures"]["ap_bars"],
        "AP per class",
        "Solid: AP@0.5:0.95; hatched: AP@0.5; per class, in its colour.",
    )


def confusion_section(c: dict[str, Any]) -> str:
    er = c["errors"]
    t = er["totals"]
    text = (
        f"Rows: ground truth; columns: predicted; background last. At IoU {er['iou']} and "
        f"confidence {er['confidence']} (the F1-dataset operating point): TP {t['tp']}, "
        f"FP {t['fp']} ({t['class_confusions']} class confusions, {t['duplicates']} "
        f"duplicates), FN {t['fn']}. Colour: share of the row."
    )
    return _figure(c["figures"]["confusion"], "confusion matrix", text)


def _thumb(t: dict, names: list[str], kind: str) -> str:
    from pathlib import Path

    name = names[t["class"]] if 0 <= t["class"] < len(names) else str(t["class"])
    if kind == "fp":
        what = {
            "background": "no ground truth at IoU ≥ 0.5",
            "duplicate": "duplicate of a found box",
            "class_confusion": f"on a {names[t['gt_class']]} box" if "gt_class" in t else "",
        }
        cap = f"{name} {t['confidence']:.2f}, {what.get(t['kind'], t['kind'])}"
    else:
        w, h = t["box"][2] - t["box"][0], t["box"][3] - t["box"][1]
        by = " (taken by a wrong class)" if t.get("taken_by") is not None else ""
        cap = f"missed {name}, {w:.0f}×{h:.0f} px{by}"
    return (
        f"<figure>{img(t['png'], cap)}<figcaption>{e(cap)}<br><code>"
        f"{e(Path(t['file']).name)}</code></figcaption></figure>"
    )


def errors_section(c: dict[str, Any]) -> str:
    th, names = c["thumbnails"], c["names"]
    conf = c["errors"]["confidence"]
    body = (
        f"<p class=sub>At the operating point of errors.json (confidence {conf}, IoU "
        f"{c['errors']['iou']}). Dashed: ground truth in its class colour; solid: "
        "predictions; thick dashes over white: the missed box.</p>"
    )
    for kind, key, title, rule in (
        ("fp", "false_positives", "Most confident false positives", "one per image"),
        ("fn", "misses", "Largest misses", "one per image; solid: what the model did predict"),
    ):
        body += f"<h3>{e(title)} ({e(rule)})</h3>"
        items = th[key]
        body += (
            ('<div class="thumbs">' + "".join(_thumb(t, names, kind) for t in items) + "</div>")
            if items
            else "<p>None.</p>"
        )
    return body


def cam_section(c: dict[str, Any]) -> str:
    cam = c["cam"]
    if cam is None:
        if c.get("cam_note"):
            return f'<p class="note">No Eigen-CAM: {e(c["cam_note"])}.</p>'
        return '<p class="note">No Eigen-CAM (see Problems and notes).</p>'
    from pathlib import Path

    cap = (
        f"{Path(cam['file']).name}: Eigen-CAM of {cam['layer']} (feature map "
        f"{'×'.join(str(v) for v in cam['feature_shape'])}) at imgsz {cam['imgsz']}, "
        f"with the model's {cam['detections']} detections at confidence {cam['conf']:g}. "
        "The image with the most true positives was chosen."
    )
    return _figure(cam["png"], "Eigen-CAM", cap)


def problems_section(c: dict[str, Any]) -> str:
    from grace.data.problems import HANDLING, level_of

    own, data = list(c["problems"]), c["dataset"]["problems"]
    if not own and not data:
        return '<p class="ok">None: every file was read and every image evaluated.</p>'
    body = "<h3>Evaluation and report</h3>"
    if own:
        items = "".join(f"<li>{e(x)}</li>" for x in own)
        body += f'<ul class="problems">{items}</ul>'
    else:
        body += '<p class="ok">None: every file was read and every image evaluated.</p>'
    body += "<h3>Dataset (grace data stats)</h3>"
    if not data:
        return body + '<p class="ok">None.</p>'
    counts = c["dataset"]["problem_counts"]
    rows = [[e(k), e(n), e(level_of(k)), e(HANDLING[k])] for k, n in counts.items()]
    body += table(["kind", "files", "level", "what it means"], rows, num_from=1, num_to=2)
    items = "".join(f"<li>{e(p['file'])}: {e(p['kind'])}: {e(p['detail'])}</li>" for p in data)
    body += f"<details><summary>Every one of the {len(data)} lines</summary>"
    return body + f'<ul class="problems">{items}</ul></details>'
