"""Server-side latency from gunicorn's access log (deploy/gunicorn.conf.py's tab-separated format,
with %(D)s = microseconds inside the worker), per endpoint, apart from what the client measured.

A line: time, method, path, status, microseconds, bytes, request id. The benchmarks tag each
request's X-Request-ID (the app echoes it, gunicorn logs it), so lines are split by phase or
client role without relying on timestamps. Percentiles are nearest-rank (bench/percentile.py)."""
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from bench.percentile import percentile as pct

_ID_SEGMENT = re.compile(r"/\d+(?=/|$|\.)")


@dataclass(frozen=True)
class Line:
    method: str
    path: str
    status: int
    micros: int
    request_id: str
    at: float = 0.0  # when the line was written (the request's end), epoch seconds, whole seconds

    @property
    def endpoint(self) -> str:
        """`POST /api/v1/calls/tasks/{id}/attempts`: ids folded so one route is one row."""
        return f"{self.method} {_ID_SEGMENT.sub('/{id}', self.path)}"


def read(path: str) -> list[Line]:
    lines = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            parts = raw.rstrip("\n").split("\t")
            if len(parts) < 7 or not parts[4].isdigit():
                continue
            lines.append(Line(parts[1], parts[2], int(parts[3]), int(parts[4]), parts[6], _epoch(parts[0])))
    return lines


def _epoch(stamp: str) -> float:
    """gunicorn's %(t)s, "[01/Dec/2026:00:18:27 +0000]", as epoch seconds (0.0 if unreadable)."""
    try:
        return datetime.strptime(stamp, "[%d/%b/%Y:%H:%M:%S %z]").timestamp()
    except ValueError:
        return 0.0


def by_endpoint(lines, prefix: str | None = None) -> dict[str, list[float]]:
    """Milliseconds per endpoint, for lines whose request id starts with `prefix` (None: all)."""
    out = defaultdict(list)
    for ln in lines:
        if prefix is None or ln.request_id.startswith(prefix):
            out[ln.endpoint].append(ln.micros / 1000)
    return dict(out)


def table(rows: dict[str, list[float]], seconds: float | None = None, title: str = "") -> str:
    head = f"{title:44} {'n':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    out = [head]
    for name in sorted(rows, key=lambda k: -len(rows[k])):
        v = rows[name]
        rate = f"{len(v) / seconds:7.1f}" if seconds else f"{'':7}"
        out.append(f"{name[:44]:44} {len(v):7d} {rate} {pct(v, 50):8.1f} {pct(v, 95):8.1f} {pct(v, 99):8.1f} "
                   f"{max(v):8.1f}")
    return "\n".join(out)


def job_windows(worker_logs, since_epoch) -> list[tuple[float, float, str]]:
    """(start, end, job) of every rq job the workers ran during the run, from their JSON log lines
    ("job started" / "job done" or "job failed", by outbox id and attempt)."""
    out, started = [], {}
    for path in worker_logs:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for raw in fh:
                if not raw.startswith("{"):
                    continue
                e = json.loads(raw)
                at = datetime.fromisoformat(e.get("timestamp", "").replace("Z", "+00:00")).timestamp() \
                    if e.get("timestamp") else 0.0
                key = (path, e.get("outbox_id"), e.get("attempt"))
                if e.get("event") == "job started":
                    started[key] = at
                elif e.get("event") in ("job done", "job failed") and key in started:
                    t0 = started.pop(key)
                    if at >= since_epoch:
                        out.append((t0, at, e.get("job", "?")))
    return out


def overlap(slow_ms: float, nxt, windows) -> str:
    """What the slow next calls ran beside: the share of next calls over slow_ms whose second
    overlapped an rq job or a report page (whole-second access-log clock, so ±1 s), against the
    share of all next calls that did. Equal shares: the background work is not what makes them slow."""
    def during(ln, kinds):
        start, end = ln.at - ln.micros / 1e6 - 1, ln.at + 1  # the log's clock is whole seconds
        return any(a <= end and start <= b for a, b, k in windows if k in kinds)
    slow = [ln for ln in nxt if ln.micros / 1000 > slow_ms]
    if not nxt or not slow:
        return f"next calls over {slow_ms:g} ms: none"
    out = [f"next calls over {slow_ms:g} ms: {len(slow)} of {len(nxt)}; overlapping (±1 s) ..."]
    kinds = sorted({k for _, _, k in windows})
    groups = [("an import job", {"import_batch"}), ("a report page (reports pool)", {"report page"}),
              ("any rq job or report page", set(kinds))]
    for label, ks in groups:
        share_all = sum(during(ln, ks) for ln in nxt) / len(nxt)
        share_slow = sum(during(ln, ks) for ln in slow) / len(slow)
        out.append(f"  {label}: {share_slow:.0%} of the slow ones, {share_all:.0%} of all next calls")
    return "\n".join(out)
