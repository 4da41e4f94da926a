"""Faults between client and server: every acknowledged write lands exactly once.

A real server process, the real HTTP client, and :class:`FaultProxy` in between
dropping, delaying, cutting and resetting connections and answering 503 at random
(seeded). ``faultrun`` audits every write afterwards over a direct connection.
Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from botwire import Memory, UnavailableError
from botwire._http import HTTPStore, RetryPolicy
from tests.security import faultrun
from tests.security.faultproxy import FaultProxy
from tests.security.procs import Proc, launch_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    db = tmp_path_factory.mktemp("faults") / "server.db"
    with launch_server(f"sqlite:///{db}", "--no-access-log") as proc:
        yield proc


def report(name: str, figures: faultrun.Figures) -> None:
    print(f"\n{name}: {figures.line()}")


def test_drops_delays_and_503s_are_retried_into_exactly_once(server: Proc) -> None:
    weights = {"pass": 0.55, "delay": 0.15, "drop": 0.15, "503": 0.15}
    figures = faultrun.run(server.url, weights, namespace="retry", seed=11)
    report("drop/delay/503", figures)
    assert sum(figures.faults[a] for a in ("delay", "drop", "503")) >= 50
    assert figures.acknowledged == figures.operations  # the retry budget covered every fault
    assert (figures.duplicates, figures.losses, figures.reapplied_sets) == (0, 0, 0)


def test_appends_and_batches_land_once_when_the_answer_is_cut_after_the_write(
    server: Proc,
) -> None:
    figures = faultrun.run(server.url, {"pass": 0.75, "cut": 0.25}, namespace="cut", seed=12)
    report("cut mid-answer", figures)
    assert figures.faults["cut"] >= 30
    assert figures.acknowledged == figures.operations
    assert figures.duplicates == 0  # a retried append carries its id: applied once
    assert figures.losses == 0


def test_a_reset_after_the_write_never_loses_or_duplicates_an_acknowledged_write(
    server: Proc,
) -> None:
    figures = faultrun.run(server.url, {"pass": 0.8, "reset": 0.2}, namespace="reset", seed=13)
    report("reset before the answer", figures)
    assert figures.faults["reset"] >= 20
    assert (figures.duplicates, figures.losses) == (0, 0)
    assert set(figures.errors) <= {"UnavailableError"}  # an ambiguous write is reported, clearly


def test_a_set_whose_answer_was_cut_is_applied_once(server: Proc) -> None:
    figures = faultrun.run(server.url, {"pass": 0.75, "cut": 0.25}, namespace="cut2", seed=14)
    assert figures.reapplied_sets == 0


def test_an_append_reset_after_landing_is_retried_safely(server: Proc) -> None:
    figures = faultrun.run(server.url, {"pass": 0.8, "reset": 0.2}, namespace="reset2", seed=15)
    assert not figures.errors


def test_a_server_that_stays_unreachable_raises_unavailable_within_the_budget(
    server: Proc,
) -> None:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    proxy = FaultProxy(host, int(port), {"pass": 1})
    url = proxy.url
    proxy.close()  # nothing listens there any more: connections are refused
    retry = RetryPolicy(attempts=4, base=0.05, cap=0.2)
    store = HTTPStore(url, timeout=2.0, retry=retry)
    with Memory("down", store=store) as m:
        started = time.monotonic()
        with pytest.raises(UnavailableError, match="tried 4 times.*could not reach"):
            m.set("k", 1)
        assert time.monotonic() - started < 2.0
    store.close()


def test_a_server_that_answers_503_throughout_raises_unavailable(server: Proc) -> None:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with FaultProxy(host, int(port), {"pass": 1}) as proxy:
        proxy.down = True
        retry = RetryPolicy(attempts=4, base=0.05, cap=0.2)
        store = HTTPStore(proxy.url, timeout=2.0, retry=retry)
        try:
            with Memory("down", store=store) as m:
                started = time.monotonic()
                with pytest.raises(UnavailableError, match="tried 4 times"):
                    m.set("k", 1)
                assert time.monotonic() - started < 2.0
        finally:
            store.close()
        assert proxy.counts["503"] == 4


def test_the_proxy_really_faults(tmp_path: Path, server: Proc) -> None:
    """The harness can fail: with no retries, faults surface as errors."""
    figures = faultrun.run(
        server.url,
        {"pass": 0.5, "drop": 0.25, "503": 0.25},
        namespace="noretry",
        seed=16,
        retry=RetryPolicy(attempts=1),
        per_worker=30,
    )
    assert sum(figures.errors.values()) >= 20
    assert figures.losses == 0
