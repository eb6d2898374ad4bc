"""Property-based fuzzing of the API from its own OpenAPI document (schemathesis): no 5xx, no crash."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import schemathesis
from engine_harness import CountingModel, running_engine
from hypothesis import HealthCheck, assume, given, settings

from photosift.daemon.api.app import create_app
from photosift.daemon.engine import Engine


def no_network(*args: object, **kwargs: object) -> None:
    raise OSError("network access is disabled in this test")


@pytest.fixture
def engine(env: dict[str, Path], model, make_shape: Callable[..., Path],
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    # Fuzzed classify URLs could name any host; this machine may only talk to itself, so the
    # URL fetch (and only it) is replaced by one that fails like an unreachable host.
    monkeypatch.setattr("photosift.daemon.searcher.urllib.request.urlopen", no_network)
    for colour, shape in (("red", "circle"), ("blue", "star")):
        make_shape(env["photos"], colour, shape)
    with running_engine(env, CountingModel(model), 2) as engine:
        yield engine


@pytest.fixture
def api_schema(engine: Engine):
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(engine))


def test_no_server_errors(api_schema) -> None:  # type: ignore[no-untyped-def]
    # schemathesis' pytest plugin does not load under this pytest, so each operation's
    # Hypothesis strategy is driven directly: the same generated cases, the same calls
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)  # the same cases on every run: CI must not depend on luck
        def check(case) -> None:  # type: ignore[no-untyped-def]
            # a generated path that happens to be a real folder ("/", "/tmp") is a valid request
            # that would really watch it: not a bad input, and not something to index in a test
            assume(not (case.method == "POST" and case.path == "/v1/folders" and isinstance(case.body, dict)
                        and os.path.isdir(str(case.body.get("path")))))
            response = case.call()
            assert response.status_code < 500, (case.method, case.path, response.status_code, response.text)
            content_type = response.headers.get("content-type")
            content_type = content_type[0] if isinstance(content_type, list) else content_type
            assert content_type.startswith("application/json"), content_type

        check()
