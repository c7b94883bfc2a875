"""gunicorn settings for followup (read by systemd's followup-web.service and bin/prod-local).

Every value can be overridden from the environment (GUNICORN_*), so one file serves a 4-core VM
and a laptop. Why these values:
- gthread workers: requests wait on PostgreSQL most of the time; threads overlap that wait
  without an async rewrite. workers = cores, threads = 8 gives 8 x cores requests in flight;
  the SQLAlchemy pool per worker (pool_size 10) must cover the threads.
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
workers = int(_env("WORKERS", str(multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(_env("THREADS", "8"))
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
