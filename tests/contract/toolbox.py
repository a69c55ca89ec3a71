"""testinfra for every image, the one without a shell too: a toolbox container beside the
service's container.

testinfra's docker backend runs each command as `docker exec CONTAINER /bin/sh -c ...`, which a
shell-less image cannot answer. So the commands run in a toolbox instead (debian:trixie-slim
with ps and ss, toolbox.Dockerfile) that shares the service container's PID and network
namespaces, as the docs' "Debugging without a shell" teaches: `host.process` and
`host.socket` see the service's processes and sockets, and the service's filesystem is
`/proc/1/root/`, the root of its PID 1 (reading another user's needs `SYS_PTRACE`). The same
path for all three images, whether or not they have a shell.

Under /proc/1/root an absolute link resolves in the toolbox's root, not the image's: follow
links with `readlink` (one step), never `realpath` or testinfra's `linked_to`. Names of users
resolve in the toolbox's /etc/passwd: compare uids and gids.
"""

import shlex
import uuid
from pathlib import Path

import testinfra

from tools import base_images, engine, images
from tools.containers import PREFIX, Running

# The service container's filesystem, seen from the toolbox.
CONTAINER_ROOT = "/proc/1/root"
# Built and removed by each test session (conftest.py, `toolboxes`), under a tag of its own:
# sessions of other checkouts on the same engine may be using theirs.
TOOLBOX = images.Image("toolbox", f"{PREFIX}-toolbox", "toolbox.Dockerfile")


def build(bases: dict[str, str]) -> str:
    """Build the toolbox on the base `nox -s build` used (a stand-in through a named context
    when offline); its tag. From the layer cache after the first time: a second or two."""
    tag, context = f"{TOOLBOX.tag}:{uuid.uuid4().hex[:12]}", Path(__file__).parent
    if any(ref not in bases for ref in TOOLBOX.base_images(context)):
        # No image builds on the toolbox's base: resolved here as `nox -s build` resolves theirs.
        located = images.Image(TOOLBOX.name, TOOLBOX.tag, f"tests/contract/{TOOLBOX.dockerfile}")
        bases = bases | base_images.resolve((located,))[1]
    images.build(TOOLBOX, bases, tag=tag, context=context, quiet=True)
    return tag


def remove_image(tag: str) -> None:
    engine.docker("image", "rm", "--force", tag, check=False)


def attach(tag: str, container: Running) -> str:
    """Start a toolbox in ``container``'s PID and network namespaces; its container id."""
    return engine.docker(
        "run",
        "--detach",
        "--name",
        f"{PREFIX}-toolbox-{uuid.uuid4().hex[:12]}",
        "--cap-add",
        "SYS_PTRACE",
        f"--pid=container:{container.id}",
        f"--network=container:{container.id}",
        "--entrypoint",
        "sleep",
        tag,
        "infinity",
    ).strip()


def get_host(toolbox: str) -> testinfra.host.Host:
    return testinfra.get_host(f"docker://{toolbox}")


def find(
    host: testinfra.host.Host,
    expression: str = "",
    fields: str = "",
    *,
    volumes: tuple[str, ...] = (),
    root: str = CONTAINER_ROOT,
) -> list[str]:
    """What `find / -xdev EXPRESSION -printf '%p FIELDS'` prints in the container, sorted, each
    path relative to / as `docker export` names it (bin/sh).

    ``-xdev``: the container's own filesystem, its image's layers and what it wrote; not what
    `docker run` mounts over it (/proc, /sys, /dev, /etc/hosts' contents...), though each mount
    point is listed. A ``VOLUME`` folder is a mount too, of a volume that got the image's files
    there when the container started: name it in ``volumes`` to read it as well.
    """
    starts = " ".join(shlex.quote(f"{root}{path.rstrip('/')}/") for path in ("", *volumes))
    listed = host.check_output(
        f"find {starts} -xdev -mindepth 1 {expression} -printf '%p{fields}\\n'"
    )
    return sorted({line.removeprefix(f"{root}/") for line in listed.splitlines()})


def image_files(
    host: testinfra.host.Host, image: images.Image, expression: str = "", fields: str = ""
) -> list[str]:
    """:func:`find` over the files of ``image`` in its running container, its volumes too."""
    volumes = tuple(engine.inspect(image.tag)["Config"].get("Volumes") or {})
    return find(host, expression, fields, volumes=volumes)


def service_processes(host: testinfra.host.Host) -> list:
    """The service's processes: PID 1 of its namespace and all its descendants. The toolbox's
    own (its sleep, the commands testinfra runs) and any `docker exec` joined the namespace from
    outside: their parent is no process in it."""
    found = [host.process.get(pid=1)]
    unvisited = [1]
    while unvisited:
        children = host.process.filter(ppid=unvisited.pop())
        found += children
        unvisited += [child.pid for child in children]
    return found
