"""The daemon's local API: HTTP/JSON over a per-user Unix socket."""
