"""``python -m grace ...``: the same as the ``grace`` command (the GUI spawns training this way)."""

import sys

from grace.cli import main

sys.exit(main())
