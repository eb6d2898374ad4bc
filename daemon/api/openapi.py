"""Write the API's OpenAPI document: `python -m photosift.daemon.api.openapi > docs/openapi.json`."""

from __future__ import annotations

import json
import sys
from typing import Any

from .app import create_app


def document() -> dict[str, Any]:
    """The OpenAPI document of the routes (no daemon is needed to describe them)."""
    return create_app(None).openapi()  # type: ignore[arg-type]


if __name__ == "__main__":
    json.dump(document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
