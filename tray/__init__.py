"""The system-tray app and its search window: clients of the daemon's API (see docs/desktop.md)."""
