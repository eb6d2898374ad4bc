"""File-manager actions ("Find similar images"): clients of the daemon's API (not built yet)."""
