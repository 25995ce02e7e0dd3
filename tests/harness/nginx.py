"""A real nginx in front of the production example, configured with the reverse-proxy page's own blocks.

nginx (Debian's package) runs as a process on this machine, listening on a free
port of 127.0.0.1 in place of a company site's HTTPS port: the page's `map` goes
into the http block and its `location` into a server block, unchanged. The hub
behind it is the production example on 127.0.0.1, as the page sets it up.
"""

from __future__ import annotations

import contextlib
import pathlib
import subprocess
from collections.abc import Iterator

import requests

from . import snippets
from .certificates import free_port
from .processes import serving

CONFIG = """\
user root;  # the workers write large request bodies to the test's own (root-only) folder
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log notice;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{map}
    server {{
        listen 127.0.0.1:{port};
{location}
    }}
}}
"""


def indented(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line if line.strip() else line for line in text.strip().splitlines())


@contextlib.contextmanager
def running(
    folder: pathlib.Path, http_block: snippets.Block | str, server_block: snippets.Block | str
) -> Iterator[str]:
    """Start nginx with these two blocks; yield its address (http://127.0.0.1:PORT). It stops at the end."""
    text = lambda block: block.text if isinstance(block, snippets.Block) else block  # noqa: E731
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port("127.0.0.1")
    config = folder / "nginx.conf"
    config.write_text(
        CONFIG.format(
            folder=folder, port=port, map=indented(text(http_block), 4), location=indented(text(server_block), 8)
        )
    )
    check = subprocess.run(["nginx", "-t", "-c", str(config)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, f"nginx refuses the page's blocks:\n{check.stderr}"
    address = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            requests.get(address, timeout=2)
        except requests.ConnectionError:
            return False
        return True

    with serving(["nginx", "-c", str(config), "-g", "daemon off;"], folder / "nginx.log", "nginx", answers):
        yield address
