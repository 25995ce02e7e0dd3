"""Stand-in for the AI Lab image's entrypoint, with the behaviour the guide relies on.

Run as root (through sudo): hand the notebooks folder to the notebook user,
check the Docker socket if one is mounted, drop privileges, copy only missing
default notebooks, start the server with its output in a log file, and print a
welcome message once the log says the server runs.
"""

import argparse
import grp
import os
import pathlib
import pwd
import shutil
import stat
import subprocess
import sys
import time

DOCKER_SOCKET = pathlib.Path("/var/run/docker.sock")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    for name in (
        "notebook-defaults",
        "notebooks",
        "jupyter-server",
        "jupyter-core",
        "home",
        "port",
        "user",
        "group",
        "docker-group",
        "password",
        "jupyter-logfile",
        "venv",
    ):
        parser.add_argument(f"--{name}", required=True)
    return parser.parse_args()


def chown_tree(path: pathlib.Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for entry in path.rglob("*"):
        os.lchown(entry, uid, gid)


def join_socket_group(user: str) -> None:
    mode = DOCKER_SOCKET.stat().st_mode
    if not (mode & stat.S_IRGRP and mode & stat.S_IWGRP):
        raise PermissionError(f"{DOCKER_SOCKET} must be readable and writable by its group")
    group = grp.getgrgid(DOCKER_SOCKET.stat().st_gid).gr_name
    subprocess.run(["usermod", "--append", "--groups", group, user], check=True)


def drop_privileges(user: str, group: str) -> None:
    entry = pwd.getpwnam(user)
    os.setgroups(os.getgrouplist(user, grp.getgrnam(group).gr_gid))
    os.setgid(grp.getgrnam(group).gr_gid)
    os.setuid(entry.pw_uid)
    os.environ.update(HOME=entry.pw_dir, USER=user, LOGNAME=user)


def copy_missing(defaults: pathlib.Path, notebooks: pathlib.Path) -> None:
    for source in defaults.rglob("*"):
        target = notebooks / source.relative_to(defaults)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif not target.exists():
            shutil.copy2(source, target)


def main() -> int:
    args = parse()
    notebooks = pathlib.Path(args.notebooks)
    entry = pwd.getpwnam(args.user)
    chown_tree(notebooks, entry.pw_uid, grp.getgrnam(args.group).gr_gid)
    if DOCKER_SOCKET.exists():
        join_socket_group(args.user)
    drop_privileges(args.user, args.group)
    copy_missing(pathlib.Path(args.notebook_defaults), notebooks)
    logfile = pathlib.Path(args.jupyter_logfile)
    with logfile.open("w") as log:
        server = subprocess.Popen(
            [args.jupyter_server, f"--notebook-dir={notebooks}", "--no-browser", "--allow-root"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=args.home,
        )
        while server.poll() is None:
            if "is running at" in logfile.read_text():
                print(
                    f"Server for Jupyter has been started successfully.\n"
                    f"You can connect with http://<host>:{args.port}\n"
                    f'The default password is "{args.password}".',
                    flush=True,
                )
                break
            time.sleep(1)
        return server.wait()


if __name__ == "__main__":
    sys.exit(main())
