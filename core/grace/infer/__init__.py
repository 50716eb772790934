"""Inference: sources (image, folder, glob, video, camera, stream), predictor, exports."""
