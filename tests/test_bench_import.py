"""bench/import.py's PostgreSQL CPU meter: it counts what the backends of its database do while it
runs, and nothing they did before (it once counted the whole life of the backends already
connected at its start, and missed the first fifth of a second of those that connected later).
Runs against the local PostgreSQL in both runs of the suite (bin/test starts it), in a scratch
database of its own."""
import importlib
import os
import time

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bench.sampling import recreate

BackendCPU = importlib.import_module("bench.import").BackendCPU  # "import" is a keyword

BURN = "SELECT count(*) FROM generate_series(1, 4000000)"  # a few tenths of a second of one backend's CPU


@pytest.fixture()
def scratch_url():
    base = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    url = make_url(base.replace("+psycopg", "")).set(database=f"followup_test_backend_cpu_{os.getpid()}")
    url = url.render_as_string(hide_password=False)
    recreate(url)
    yield url
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _burn_seconds(conn) -> float:
    """The CPU seconds one run of BURN costs its backend, read from /proc like the meter does."""
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    before = BackendCPU.ticks(pid)
    conn.execute(BURN)
    return (BackendCPU.ticks(pid) - before) / os.sysconf("SC_CLK_TCK")


def test_a_backend_connected_before_the_meter_counts_only_what_it_does_after(scratch_url):
    with psycopg.connect(scratch_url, autocommit=True) as busy:
        burnt = _burn_seconds(busy)  # before the meter: not its business
        assert burnt >= 0.1
        with BackendCPU(scratch_url) as idle:
            time.sleep(0.5)
        assert idle.seconds < burnt / 2, (idle.seconds, burnt)
        with BackendCPU(scratch_url) as working:
            busy.execute(BURN)
            time.sleep(0.3)  # sampled again after the work
        assert working.seconds >= burnt / 2, (working.seconds, burnt)


def test_a_backend_that_connects_and_works_between_two_samples_is_counted_whole(scratch_url):
    with BackendCPU(scratch_url) as meter:
        with psycopg.connect(scratch_url, autocommit=True) as fresh:
            burnt = _burn_seconds(fresh)
            time.sleep(0.3)  # seen at least once, after its work
    assert burnt >= 0.1
    assert meter.seconds >= burnt * 0.9, (meter.seconds, burnt)
