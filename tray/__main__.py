"""`python -m photosift.tray`: the tray app, as `photosift tray`."""

import sys

from photosift.daemon.cli.main import main

sys.exit(main(["tray", *sys.argv[1:]]))
