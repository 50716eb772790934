"""Defaults shared by ``grace cam``, the renderer and the GUI (no heavy imports here)."""

from __future__ import annotations

#: OpenCV colormap names offered (``cv2.COLORMAP_<NAME>``). The default, inferno, matches the
#: paper's Figure 3 description: yellow/orange for high response, purple/dark for low.
COLORMAP_NAMES = ("inferno", "plasma", "magma", "viridis", "turbo", "jet")
DEFAULT_COLORMAP = "inferno"
#: Weight of the heatmap in the blend ``(1 - opacity) * image + opacity * colour``.
DEFAULT_OPACITY = 0.5
#: Confidence threshold of the detections drawn on the panels (Ultralytics' predict default).
DEFAULT_CONF = 0.25
#: CAM methods offered (``grace cam --method`` and the Eigen-CAM tab), all from pytorch-grad-cam.
#: Eigen-CAM needs no gradient and no target (the paper's Figure 3, the default); the others
#: back-propagate the summed class scores of the model's kept detections.
METHOD_LABELS = {
    "eigencam": "Eigen-CAM",
    "eigengradcam": "Eigen-Grad-CAM",
    "layercam": "LayerCAM",
    "gradcam++": "Grad-CAM++",
}
METHOD_NAMES = tuple(METHOD_LABELS)
DEFAULT_METHOD = "eigencam"
#: Methods that need a backward pass (a target on the detections' class scores).
GRADIENT_METHODS = ("eigengradcam", "layercam", "gradcam++")
