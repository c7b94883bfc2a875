"""gunicorn settings for followup (read by systemd's followup-web.service and bin/prod-local).

Every value can be overridden from the environment (GUNICORN_*), so one file serves a 4-core VM
and a laptop. Why these values:
- processes, not threads, carry the concurrency: workers = 6 x cores, threads = 1 (gthread
  worker class, so keep-alive connections are still handled). A caller's request is ~19 ms of
  Python CPU between its ~7 round trips to PostgreSQL; with 8 threads in one worker, every
  round trip ends in a wait for the GIL behind the other threads' CPU, and the tail grows.
  bench/load.py, 50 paced callers, one core for the server: next-call p99 572 ms with 3 x 8,
  225 ms with 8 x 2, 162 ms with 12 x 1 (same p50 order: 43 / 44 / 34 ms). A worker is ~110 MB
  resident; PostgreSQL connections = workers x pool per machine (PgBouncer past a few machines,
  docs/scale.md).
- timeout 30 s: nothing long runs in a request any more (draws, large exports, imports are
  jobs), so a request still running after 30 s is stuck: let gunicorn recycle its worker.
- graceful_timeout 30 s: on SIGTERM (deploys) in-flight requests finish; nginx retries the
  next upstream meanwhile.
- max_requests with jitter: recycles workers slowly so a leak cannot grow for weeks.
- access log with %(D)s (microseconds): server-side latency per request, measured inside the
  worker, independent of the client; bench/load.py and bench/queue.py read it.
"""
import multiprocessing
import os


def _env(name, default):
    return os.environ.get(f"GUNICORN_{name}", default)


bind = _env("BIND", "127.0.0.1:8000")
workers = int(_env("WORKERS", str(6 * multiprocessing.cpu_count())))
worker_class = _env("WORKER_CLASS", "gthread")
threads = int(_env("THREADS", "1"))
timeout = int(_env("TIMEOUT", "30"))
graceful_timeout = int(_env("GRACEFUL_TIMEOUT", "30"))
keepalive = int(_env("KEEPALIVE", "30"))  # behind nginx's upstream keepalive
max_requests = int(_env("MAX_REQUESTS", "20000"))
max_requests_jitter = int(_env("MAX_REQUESTS_JITTER", "2000"))
preload_app = False  # each worker opens its own database pool after the fork
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = _env("ACCESSLOG", "-")
errorlog = _env("ERRORLOG", "-")
loglevel = _env("LOGLEVEL", "info")
# Tab-separated, fixed order: time, method, path (no query string: ids and filters stay out of
# the log), status, microseconds, bytes, request id. No client address, no user agent.
# gunicorn >= 25 opens a control socket (default under $HOME, shared by every instance of the
# user): give each instance its own, beside its pid.
control_socket = _env("CONTROL_SOCKET", "/run/followup/gunicorn.ctl")
access_log_format = "%(t)s\t%(m)s\t%(U)s\t%(s)s\t%(D)s\t%(B)s\t%({x-request-id}o)s"
