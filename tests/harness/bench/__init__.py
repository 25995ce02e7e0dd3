"""Benchmarks of the guide: spawn latency, image overhead, many users at once, the site build.

Run with `nox -s bench` (or `python -m harness.bench` with tests/ and docs/_ext
on sys.path). It needs the Docker engine, takes about 20 minutes on 2 cores,
prints the figures as a table and writes docs/_static/bench/results.json,
which the Benchmarks page plots when the site is built.

It runs beside the test suite without touching anything the tests use: its own
compose project, port, network, user names, container, volume and image names.
It starts the example with the page's own `minimal-start` block, but does not
clean up with `minimal-cleanup`, which removes the images and volumes the tests
share; it removes only what it created, and checks that nothing of it is left.
"""
