"""Qt-free state and jobs of the tabs (napari's split): each tab renders one session."""
