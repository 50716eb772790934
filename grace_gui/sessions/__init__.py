"""Qt-free state and jobs of each tab (what is open, what runs, the results), announced with
psygnal signals and tested without a QApplication; the tabs render them."""
