"""The line: export (OpenVINO/ONNX, INT8), model packages, the one model loader."""
