"""Qt-free state and jobs of the tabs (napari's models under thin ``_qt`` views)."""
