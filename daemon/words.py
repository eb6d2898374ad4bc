"""Answers in people's words, shared by the CLI and the desktop app: sizes, and the kinds of duplicates."""

from __future__ import annotations

DUPLICATE_KINDS = {"identical": "the same bytes", "near": "the same picture"}


def size_text(n: int) -> str:
    """Bytes as people read them: 812 bytes, 3.4 MB."""
    if n < 1024:
        return f"{n} bytes"
    value = n / 1024
    for unit in ("KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
