"""Qt-free sessions (napari's split): each tab's state and jobs (what is open, what runs, the
results), announced with psygnal signals and tested without a QApplication; the tabs only render
them."""
