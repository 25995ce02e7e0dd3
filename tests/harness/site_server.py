"""Serve a built site the way it is published, so the browser audit sees what readers see.

GitHub Pages serves a project site under /<repository>/ and Read the Docs under
/<language>/<version>/: links that only work at the server's root break there.
So the site is mounted under a sub-path, and any unknown path gets the site's
404.html with status 404, as those hosts answer. Standard library only, one
thread, on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import pathlib
import runpy
import threading
import urllib.parse
from collections.abc import Iterator

from . import paths

# Where the audit mounts a site built for the server's root: a sub-path, as for
# a GitHub project site, so that links which only work at the root show up.
DEFAULT_MOUNT = "/guide/"


def mount() -> str:
    """The sub-path the site is built for (conf.py's notfound_urls_prefix, set from SITE_PREFIX), else /guide/."""
    prefix = runpy.run_path(str(paths.ROOT / "conf.py")).get("notfound_urls_prefix") or "/"
    return DEFAULT_MOUNT if prefix.strip("/") == "" else "/" + prefix.strip("/") + "/"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Files under the mount; the site's 404.html, with status 404, for everything else."""

    def __init__(self, *args, root: pathlib.Path, mount: str, **kwargs) -> None:
        self.mount = mount
        super().__init__(*args, directory=str(root), **kwargs)

    def send_head(self):
        parts = urllib.parse.urlsplit(self.path)
        if parts.path == self.mount.rstrip("/"):
            self.send_response(301)
            self.send_header("Location", self.mount)
            self.end_headers()
            return None
        if parts.path.startswith(self.mount):
            inside = "/" + parts.path[len(self.mount) :]
            target = pathlib.Path(self.translate_path(inside))
            if target.is_file() or (target.is_dir() and (target / "index.html").is_file()):
                self.path = urllib.parse.urlunsplit(("", "", inside, parts.query, ""))
                return super().send_head()
        return self._not_found()

    def _not_found(self) -> io.BytesIO:
        page = pathlib.Path(self.directory, "404.html")
        body = page.read_bytes() if page.is_file() else b"<!DOCTYPE html><title>Not found</title><p>Not found</p>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, format: str, *args) -> None:
        """Quiet: the audit reports what matters."""


@contextlib.contextmanager
def serve(root: pathlib.Path, at: str | None = None) -> Iterator[str]:
    """Serve `root` under the mount path; yield the site's base URL (ending in /)."""
    path = at or mount()
    handler = functools.partial(_Handler, root=root, mount=path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
