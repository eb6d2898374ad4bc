"""The `photosift` package itself, kept to its entry point: `python -m photosift` runs the CLI.

The code lives in the packages beside this folder, mapped in pyproject.toml:
`photosift.daemon` (daemon/: the engine, its API and the CLI), `photosift.tray`
(tray/) and `photosift.shell_ext` (shell_ext/).
"""
