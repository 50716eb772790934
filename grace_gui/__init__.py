"""GRACE Inspector, the PySide6 application over the `grace` engine."""
