"""The Docker SDK for Python against berth daemon (DOCKER_HOST is set by the caller): the calls a typical program
makes, with their results checked. Exits non-zero with a message on the first mismatch."""

import sys

import docker


def check(what, got, want):
    if got != want:
        sys.exit(f"{what}: got {got!r}, want {want!r}")


client = docker.from_env(version="auto")
check("ping", client.ping(), True)
check("api version", client.version()["ApiVersion"], "1.41")
tags = [t for img in client.images.list() for t in img.tags]
check("busybox listed", "busybox:latest" in tags, True)

check("run output", client.containers.run("busybox", ["echo", "hi"], remove=True), b"hi\n")

try:
    client.containers.run("busybox", ["sh", "-c", "exit 3"], remove=True)
    sys.exit("a failing container should raise ContainerError")
except docker.errors.ContainerError as e:
    check("exit status", e.exit_status, 3)

try:
    client.containers.get("no-such-container")
    sys.exit("a missing container should raise NotFound")
except docker.errors.NotFound:
    pass

c = client.containers.run(
    "busybox", ["sh", "-c", "echo ready; sleep 100"], detach=True, name="sdk", environment={"K": "v"}
)
c.reload()
check("status", c.status, "running")
check("name", c.name, "sdk")
code, out = c.exec_run(["sh", "-c", "echo $K; exit 2"])
check("exec", (code, out), (2, b"v\n"))
check("listed", [x.name for x in client.containers.list()], ["sdk"])
c.stop(timeout=1)
check("wait", c.wait()["StatusCode"], 137)
check("logs", c.logs(), b"ready\n")
c.remove()
check("removed", client.containers.list(all=True), [])
print("ok")
