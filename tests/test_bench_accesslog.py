"""bench/accesslog.py: the access log's clock, the rq jobs' windows from the workers' JSON logs, and
which slow requests ran beside them (bench/load.py's "what the tail ran beside")."""
import json

from bench.accesslog import job_windows, overlap, read

LOG = ("[01/Dec/2026:00:18:27 +0000]\tPOST\t/api/v1/calls/next\t200\t{us}\t16\tcaller-{n}\n")


def _access(tmp_path, rows):
    p = tmp_path / "access.log"
    p.write_text("".join(LOG.replace("00:18:27", t).format(us=us, n=i) for i, (t, us) in enumerate(rows)))
    return read(str(p))


def _worker(tmp_path, events):
    p = tmp_path / "worker.log"
    p.write_text("not json: rq's own line\n" + "".join(json.dumps(e) + "\n" for e in events))
    return str(p)


def test_a_line_carries_the_second_it_was_written(tmp_path):
    a, b = _access(tmp_path, [("00:18:27", 1000), ("00:18:29", 2000)])
    assert b.at - a.at == 2 and a.micros == 1000 and a.endpoint == "POST /api/v1/calls/next"


def test_job_windows_pair_start_and_end_by_outbox_id_and_attempt(tmp_path):
    path = _worker(tmp_path, [
        {"event": "job started", "job": "import_batch", "outbox_id": 1, "attempt": 1, "timestamp": "2026-12-01T00:18:20Z"},
        {"event": "job started", "job": "deadline_watch", "outbox_id": 2, "attempt": 1, "timestamp": "2026-12-01T00:18:21Z"},
        {"event": "job done", "job": "deadline_watch", "outbox_id": 2, "attempt": 1, "timestamp": "2026-12-01T00:18:22Z"},
        {"event": "job failed", "job": "import_batch", "outbox_id": 1, "attempt": 1, "timestamp": "2026-12-01T00:18:25Z"},
        {"event": "job started", "job": "import_batch", "outbox_id": 1, "attempt": 2, "timestamp": "2026-12-01T00:18:40Z"},
    ])  # the retry never finished: no window
    wins = job_windows([path], since_epoch=0)
    assert sorted((k, round(b - a)) for a, b, k in wins) == [("deadline_watch", 1), ("import_batch", 5)]
    assert job_windows([path], since_epoch=wins[0][1] + 100) == []  # jobs that ended before the run: left out


def test_overlap_compares_the_slow_requests_with_all_of_them(tmp_path):
    lines = _access(tmp_path, [("00:18:10", 5_000), ("00:18:11", 5_000), ("00:18:30", 90_000),
                               ("00:18:50", 5_000), ("00:18:51", 120_000)])
    import_at = lines[2].at  # an import ran around the first slow request only
    said = overlap(50, lines, [(import_at - 3, import_at - 1, "import_batch")])
    assert "2 of 5" in said
    assert "an import job: 50% of the slow ones, 20% of all next calls" in said
    assert overlap(500, lines, []) == "next calls over 500 ms: none"
