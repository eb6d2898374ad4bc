"""Saved searches kept as real folders: symlinks to a search's relevant results, kept up to date as the
library changes, so that any program can open them (docs/saved.md)."""
