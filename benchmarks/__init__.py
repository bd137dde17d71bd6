"""The settlement benchmark: a period settled by a real Celery worker, against PostgreSQL's own bare insert.

`python -m benchmarks` (what `make bench` runs) seeds its own database with set-based SQL, settles a period
through the real Celery path and, in the same run, times the bare INSERT … SELECT of the same rows into a
table of the same shape. See `python -m benchmarks --help`.
"""
