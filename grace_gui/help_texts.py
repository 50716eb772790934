"""The words of the Help guide, one sentence each, in a quality engineer's terms (Qt-free).

The tabs reuse the same sentences for their tooltips, so that a term reads the same everywhere::

    from grace_gui.help_texts import TERMS
    field.setToolTip(TERMS["w_final"])

:data:`TABS` says what each tab is for (keyed by the tab's title), :data:`TERMS` what each term
means; :func:`guide_html` puts both on one page for the Help > Guide dialog.
"""

from __future__ import annotations

from html import escape

TABS: dict[str, str] = {
    "Dataset": (
        "Open a labelled image set (a YOLO data.yaml, a NEU-DET or VOC folder, or plain images), "
        "check its class balance and defect sizes, and see every file that has a problem."
    ),
    "Train": (
        "Train a detector on the open dataset, GRACE or the plain baseline, watch its losses, "
        "accuracy and sampler weights live, and open earlier runs to compare them."
    ),
    "Inference": (
        "Run a model (checkpoint, OpenVINO/ONNX export or package) over images, a video or a "
        "camera, or watch the folder a line camera writes into and judge each new image OK/NG; "
        "filter by class and confidence, and export."
    ),
    "Evaluate": (
        "Score models (checkpoints, OpenVINO/ONNX exports or packages) on a dataset exactly as "
        "the line runs them, see which differences are real (95 % intervals), where each model "
        "errs, and set per-class thresholds."
    ),
    "Review": (
        "Go through what a model found, accept or reject each finding, correct its class or box, "
        "add missed defects, then export the reviewed images as a dataset to fine-tune on."
    ),
    "Eigen-CAM": (
        "Show as a heat map where up to four models (their .pt checkpoints: an export has no "
        "layers to look into) look in one image when they detect defects, on one colour scale, "
        "to see whether they look at the defect or elsewhere."
    ),
}

TERMS: dict[str, str] = {
    "DS-CBSM++": (
        "GRACE's sampler: it shows the model more images of the defect classes it still finds "
        "hard (rare, low confidence, large errors) and updates that mix during training."
    ),
    "Lite-FEN": (
        "A small attention block that sharpens the fine-detail feature map (P3) the detector "
        "uses for small defects, at almost no extra inspection time."
    ),
    "w_base": (
        "A class's fixed sampling weight from its frequency alone: rarer classes get more "
        "(1 ⁄ √frequency, scaled so that the average class has 1.0)."
    ),
    "w_dyn": (
        "A class's sampling weight from how training is going: raised for classes with large "
        "errors or low confidence, kept between 0.85 and 1.35."
    ),
    "w_final": (
        "The weight that actually decides how often a class's images are drawn next: a blend "
        "of w_base and w_dyn that trusts w_dyn more as training goes on (by γ_e)."
    ),
    "g_ema": (
        "Running average of how wrong the model's class score still is on this class's "
        "defects (its classification-loss gradient): high means the class is still being learnt."
    ),
    "c_ema": (
        "Running average of the model's confidence on this class's defects: low means the "
        "model is still unsure about this class."
    ),
    "γ_e": (
        "How much w_final follows w_dyn rather than w_base at epoch e: it grows from 0.02 to "
        "0.60 over the first 30 epochs, then stays."
    ),
    "ŝ_e": (
        "How strongly Lite-FEN corrects the fine-detail features at epoch e: it grows from 0.05 "
        "to 0.20 over the first 30 epochs, then stays."
    ),
    "mAP50": (
        "Mean over classes of the average precision when a detection counts as found if its "
        "box covers the true defect by at least 50 % (IoU ≥ 0.5); 1.0 finds every defect with "
        "no false alarm."
    ),
    "mAP50-95": (
        "The same averaged over stricter overlaps from 50 % to 95 %, so it also rewards boxes "
        "drawn tightly around the defect (the main figure for ranking models)."
    ),
    "COCO size buckets": (
        "Defects sorted by their box area in the original image: small up to 32×32 pixels, "
        "medium up to 96×96, large above, to see whether a model misses the small ones."
    ),
    "Deployed protocol": (
        "Evaluation as deployed (grace val, the default): the model is scored on exactly what "
        "prediction outputs at the chosen image size, with COCO's reference scoring."
    ),
    "Ultralytics protocol": (
        "Ultralytics' own validation (its end-of-training figures, grace val --protocol "
        "ultralytics) feeds images at another size, so its numbers are never compared with "
        "the deployed ones."
    ),
}


def guide_html(tabs: dict[str, str] | None = None, terms: dict[str, str] | None = None) -> str:
    """The Help > Guide page: what each tab is for, then what each term means."""
    tabs = TABS if tabs is None else tabs
    terms = TERMS if terms is None else terms

    def entries(texts: dict[str, str]) -> list[str]:
        return [
            f"<dt><b>{escape(k, False)}</b></dt><dd>{escape(v, False)}</dd>"
            for k, v in texts.items()
        ]

    return "\n".join(
        ["<h2>GRACE Inspector</h2>", "<h3>The tabs</h3>", "<dl>", *entries(tabs), "</dl>"]
        + ["<h3>Terms</h3>", "<dl>", *entries(terms), "</dl>"]
    )
