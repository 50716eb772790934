"""Explanations: Eigen-CAM heatmaps of one or several models, side by side."""
