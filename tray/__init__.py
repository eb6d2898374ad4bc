"""The system-tray app: a client of the daemon's API (in progress: thumbnails so far)."""
