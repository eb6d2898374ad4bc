"""A flood of slow, reconnecting clients cannot lock a normal client out of the API.

300 real clients in another process trickle headers over the real socket and
reconnect whenever they are hung up on; meanwhile a normal client searches. The
latency target (p95 under 1 s) is measured by bench/search_latency.py; here every
search must simply be answered.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from photosift.daemon.client import Client
from photosift.daemon.engine import Engine

FLOOD = Path(__file__).parents[3] / "bench" / "flood.py"  # the load generator the benchmark uses too


def searches_answered_under_a_flood(env: dict[str, Path]) -> None:
    socket_path = env["run"] / "api.sock"
    flood = subprocess.Popen([sys.executable, str(FLOOD), str(socket_path), "300", "40"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert flood.stdout is not None and flood.stdout.readline().strip() == "flooding"
        latencies = []
        with Client(socket_path, timeout=30) as client:
            for _ in range(30):
                started = time.perf_counter()
                hits = client.search("a blue star", k=3)
                latencies.append(time.perf_counter() - started)
                assert hits and hits[0]["path"].endswith("blue-star.png")
        assert flood.poll() is None, "the flood was still on while every search was answered"
        latencies.sort()
        print(f"searches under the flood: median {latencies[15]:.3f} s, worst {latencies[-1]:.3f} s")
    finally:
        flood.kill()
        flood.communicate()


def test_three_hundred_trickling_reconnecting_clients_do_not_starve_a_normal_one(
    env: dict[str, Path], daemon: Engine
) -> None:
    searches_answered_under_a_flood(env)


def test_past_the_admission_limit_the_longest_waiting_connection_makes_room(
    env: dict[str, Path], daemon: Engine
) -> None:
    daemon.api.admission.limit = 50  # the real limit, 512, is more than this flood: make it overflow
    searches_answered_under_a_flood(env)
    assert daemon.api.admission.evicted > 0
