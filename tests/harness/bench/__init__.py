"""Benchmarks of the guide: spawns, image overhead, a class logging in at once, users working, the site build.

Run with `nox -s bench` (or `python -m harness.bench` with tests/ and docs/_ext
on sys.path). It needs the Docker engine, takes about half an hour on 2 cores
(the test suite included), prints the figures as a table and writes
docs/_static/bench/results.json, which the Benchmarks page plots when the site
is built. `--only burst,working` runs some parts (site, images, spawns,
timeline, burst, working) and keeps the others' results from the last run;
results["sections"] dates each part. `--quick` takes a few samples of each.

It runs beside the test suite without touching anything the tests use: its own
compose project, port, network, user names, container, volume and image names.
It starts the example with the page's own `minimal-start` block, but does not
clean up with `minimal-cleanup`, which removes the images and volumes the tests
share; it removes only what it created, and checks that nothing of it is left.
To compare start settings it recreates its hub container with another
BENCH_START_SETTING (stack.py appends the settings to its copy of the config).
"""
