"""`python -m photosift` is the `photosift` command (for when the console script is not on PATH)."""

import sys

from photosift.daemon.cli.main import main

sys.exit(main())
