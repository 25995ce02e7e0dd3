#!/bin/sh
# Start a user's AI Lab under JupyterHub.
# Like the AI Lab's own entrypoint, copy the AI Lab notebooks into the user's
# folder, but only those the user does not have yet: edits are never overwritten.
set -eu
# After an upgrade, the volume's notebooks are an earlier release's (or of
# unknown release, if the volume is older than this file): this release's come,
# all of them as shipped, into a folder of their own, next to the user's.
release_file="${NOTEBOOKS}/.ai-lab-version"
if [ -n "$(ls -A "${NOTEBOOKS}")" ] \
  && [ "$(cat "${release_file}" 2>/dev/null)" != "${AI_LAB_VERSION}" ]; then
  cp -R -n "${NOTEBOOK_DEFAULTS}/." "${NOTEBOOKS}/ai-lab-${AI_LAB_VERSION}/"
fi
cp -R -n "${NOTEBOOK_DEFAULTS}/." "${NOTEBOOKS}/"
echo "${AI_LAB_VERSION}" > "${release_file}"
exec "$@"
