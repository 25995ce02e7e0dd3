"""Run code in a Jupyter kernel of a user's server, over the proxy's websocket, as JupyterLab does.

A kernel is created through the server's REST API, one execute_request goes
over the kernel's channels websocket (Jupyter messaging protocol 5.3), and the
printed output comes back; the kernel is deleted afterwards. It takes the
user's browser-like session (hub.User), so the request passes the same proxy,
cookies and certificate as a person's would.
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import urlparse

import websocket


class KernelError(AssertionError):
    """The code failed in the kernel, or the kernel did not answer."""


def messages(socket: websocket.WebSocket, deadline: float):
    """The JSON messages arriving on a channels websocket until `deadline` (time.monotonic()).

    Control frames come back too, so the deadline holds even while the proxy
    keeps the connection alive with pings (a plain recv() answers those itself
    and would wait on for a data frame forever).
    """
    while (remaining := deadline - time.monotonic()) > 0:
        socket.settimeout(remaining)
        try:
            opcode, data = socket.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            return
        if opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
            yield json.loads(data)


def connected(user, kernel: str, deadline: float) -> websocket.WebSocket:
    """A channels websocket on which the kernel has answered on both shell and iopub, as JupyterLab waits for.

    A new or restarted kernel may not listen yet, and a connection made during a
    restart can stay attached to the old kernel's ports. So each attempt sends a
    kernel_info_request and waits briefly for its reply (shell) and its `idle`
    status (iopub); an attempt that lacks either is closed and made anew.
    """
    while time.monotonic() < deadline:
        socket = channels(user, kernel, max(1.0, deadline - time.monotonic()))
        request = message_of("kernel_info_request", {}, user.name)
        socket.send(json.dumps(request))
        seen = set()
        for message in messages(socket, min(deadline, time.monotonic() + 3)):
            if message.get("parent_header", {}).get("msg_id") != request["header"]["msg_id"]:
                continue
            if message["msg_type"] == "kernel_info_reply":
                seen.add("shell")
            elif message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                seen.add("iopub")
            if seen == {"shell", "iopub"}:
                return socket
        socket.close()
    raise KernelError(f"{user.name}'s kernel did not answer a kernel_info_request on shell and iopub in time.")


def run_code(user, code: str, timeout: float = 180) -> str:
    """Execute code in a new kernel of `user`'s server (a hub.User); return its printed output."""
    response = user.server("POST", "/kernels", json={"name": "python3"})
    response.raise_for_status()
    kernel = response.json()["id"]
    try:
        return execute(user, kernel, code, timeout)
    finally:
        user.server("DELETE", f"/kernels/{kernel}")


def message_of(kind: str, content: dict, username: str) -> dict:
    """One shell-channel message of the Jupyter messaging protocol."""
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "username": username,
            "session": uuid.uuid4().hex,
            "msg_type": kind,
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": "shell",
    }


def execute_request(code: str, username: str) -> dict:
    """One execute_request message of the Jupyter messaging protocol."""
    return message_of("execute_request", {"code": code, "silent": False, "store_history": False}, username)


def channels(user, kernel: str, timeout: float) -> websocket.WebSocket:
    """The kernel's channels websocket, opened through the proxy with the user's cookies."""
    parsed = urlparse(user.url)
    scheme = "wss" if parsed.scheme == "https" else "ws"
    ws_url = f"{scheme}://{parsed.netloc}{user.root}/user/{user.name}/api/kernels/{kernel}/channels"
    cookie = "; ".join(f"{c.name}={c.value}" for c in user.session.cookies)
    verify = user.session.verify
    sslopt = {"ca_certs": verify} if isinstance(verify, str) else {}
    return websocket.create_connection(
        ws_url, cookie=cookie, timeout=timeout, origin=f"{parsed.scheme}://{parsed.netloc}", sslopt=sslopt
    )


def execute_until_restart(user, kernel: str, code: str, timeout: float) -> list[dict]:
    """Send code that kills its kernel (out of memory, say); return the messages up to the kernel's restart.

    The server announces a kernel that died with the status `restarting` on
    the channels (`dead` if it gives up); JupyterLab shows that status.
    """
    deadline = time.monotonic() + timeout
    socket = connected(user, kernel, deadline)
    seen = []
    try:
        socket.send(json.dumps(execute_request(code, user.name)))
        for message in messages(socket, deadline):
            seen.append(message)
            if message["msg_type"] == "status" and message["content"]["execution_state"] in ("restarting", "dead"):
                return seen
    finally:
        socket.close()
    raise KernelError(f"{user.name}'s kernel did not die within {timeout:.0f} s.")


def execute(user, kernel: str, code: str, timeout: float) -> str:
    """Send the code to a running kernel (on a `connected` socket) and collect its output until reply and idle status.

    The reply comes on the shell channel and the output on iopub; the channels
    websocket may deliver the reply first. The kernel's `idle` status for this
    request comes after all of its output, so both are awaited.
    """
    deadline = time.monotonic() + timeout
    socket = connected(user, kernel, deadline)
    request = execute_request(code, user.name)
    msg_id = request["header"]["msg_id"]
    output, errors = [], []
    reply, idle = None, False
    try:
        socket.send(json.dumps(request))
        for message in messages(socket, deadline):
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                output.append(content["text"])
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "status":
                idle = content["execution_state"] == "idle"
            elif kind == "execute_reply":
                reply = content
            if reply is not None and idle:
                if reply["status"] != "ok":
                    raise KernelError(f"Code failed in {user.name}'s kernel: {' '.join(errors) or reply}")
                return "".join(output)
    finally:
        socket.close()
    raise KernelError(f"No reply from {user.name}'s kernel within {timeout:.0f} s.")
