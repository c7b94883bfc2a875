"""Server-side latency from gunicorn's access log (deploy/gunicorn.conf.py's tab-separated format,
with %(D)s = microseconds inside the worker), per endpoint, apart from what the client measured.

A line: time, method, path, status, microseconds, bytes, request id. The benchmarks tag each
request's X-Request-ID (the app echoes it, gunicorn logs it), so lines are split by phase or
client role without relying on timestamps. Percentiles are nearest-rank (bench/percentile.py)."""
import re
from collections import defaultdict
from dataclasses import dataclass

from bench.percentile import percentile as pct

_ID_SEGMENT = re.compile(r"/\d+(?=/|$|\.)")


@dataclass(frozen=True)
class Line:
    method: str
    path: str
    status: int
    micros: int
    request_id: str

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
            lines.append(Line(parts[1], parts[2], int(parts[3]), int(parts[4]), parts[6]))
    return lines


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
