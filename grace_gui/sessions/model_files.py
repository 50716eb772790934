"""What the GUI's model file dialogs offer and what the engine is given from the pick (no Qt).

Every chooser of a model to run (File > Open model…, the Inference tab's Browse…, the Evaluate
tab's Add model…, a new review's weights) shows :data:`MODEL_FILTER` and hands the engine
:func:`picked_model` of the file chosen: a PyTorch checkpoint (``.pt``), an ONNX file, an OpenVINO
model (a file dialog picks its ``.xml``; the engine takes its ``*_openvino_model`` folder) or a
model package (its ``.zip``, or the ``package.json`` of its folder; the engine takes the folder),
as :func:`grace.deploy.runtime.resolve_model` accepts them. The choosers that need the PyTorch
checkpoint itself (Eigen-CAM, the Train tab's pretrained weights) show :data:`PT_FILTER`.
"""

from __future__ import annotations

from pathlib import PurePath

from grace.deploy.runtime import OPENVINO_SUFFIX

MODEL_FILTER = "Models (*.pt *.onnx *.xml *.zip package.json);;All files (*)"
PT_FILTER = "PyTorch checkpoints (*.pt);;All files (*)"
MODEL_FILES_TIP = (
    "a checkpoint (.pt), an OpenVINO export (its .xml), an .onnx file or a model package "
    "(.zip, or the package.json of its folder)"
)


def picked_model(path: str) -> str:
    """The model path the engine takes for the file picked in a model dialog (names only,
    nothing is read): a package's ``package.json`` → its folder; an ``.xml`` or ``.bin`` inside a
    ``*_openvino_model`` folder → that folder; anything else (``""`` too) unchanged.

    >>> picked_model("/models/line-3/package.json")
    '/models/line-3'
    >>> picked_model("/runs/a/weights/best_openvino_model/best.xml")
    '/runs/a/weights/best_openvino_model'
    >>> picked_model("/runs/a/weights/best_openvino_model/best.bin")
    '/runs/a/weights/best_openvino_model'
    >>> picked_model("/models/best.onnx"), picked_model("/models/line-3.zip")
    ('/models/best.onnx', '/models/line-3.zip')
    >>> picked_model("/data/notes/model.xml")  # an .xml outside an OpenVINO folder: as it is
    '/data/notes/model.xml'
    >>> picked_model("")
    ''
    """
    if not path:
        return path
    p = PurePath(path)
    if p.name == "package.json":
        return str(p.parent)
    if p.suffix.lower() in (".xml", ".bin") and p.parent.name.endswith(OPENVINO_SUFFIX):
        return str(p.parent)
    return path
