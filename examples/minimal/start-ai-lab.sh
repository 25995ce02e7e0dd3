#!/bin/sh
# Start a user's AI Lab under JupyterHub.
# Like the AI Lab's own entrypoint, copy the AI Lab notebooks into the user's
# folder, but only those the user does not have yet: edits are never overwritten.
set -eu
cp -R -n "${NOTEBOOK_DEFAULTS}/." "${NOTEBOOKS}/"
exec "$@"
