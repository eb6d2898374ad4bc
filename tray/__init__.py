"""The system-tray app: a client of the daemon's API (not built yet)."""
