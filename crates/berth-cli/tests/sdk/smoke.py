"""The Docker SDK for Python against berth daemon (DOCKER_HOST is set by the caller): the calls a typical program
makes, with their results checked. Exits non-zero with a message on the first mismatch."""

import os
import socket
import sys
import time

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

# Networks: a user network with its own subnet and bridge (given by the test), a published port answering on
# 127.0.0.1, names and a connect-time alias resolving between containers, then everything removed.
ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=os.environ["SDK_SUBNET"])])
net = client.networks.create(
    "sdknet", driver="bridge", ipam=ipam, options={"com.docker.network.bridge.name": os.environ["SDK_BRIDGE"]}
)
check("network listed", "sdknet" in [n.name for n in client.networks.list()], True)
web = client.containers.run(
    "busybox",
    ["sh", "-c", "while true; do echo hi | nc -l -p 80; done"],
    detach=True,
    name="web",
    network="sdknet",
    ports={"80/tcp": ("127.0.0.1", None)},
)
web.reload()
port = int(web.ports["80/tcp"][0]["HostPort"])
deadline = time.time() + 10
while True:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            got = s.recv(16)
        if got:
            break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit(f"nothing answered on published port {port}")
    time.sleep(0.05)
check("published port", got, b"hi\n")
# (web's listener restarts after each connection: retry until it answers.)
by_name = ["sh", "-c", "for i in $(seq 50); do nc web 80 && break; sleep 0.1; done"]
check("by name", client.containers.run("busybox", by_name, network="sdknet", remove=True), b"hi\n")
other = client.containers.run("busybox", ["sleep", "100"], detach=True, name="other")
net.connect(other, aliases=["buddy"])
net.reload()
check("attached", sorted(c.name for c in net.containers), ["other", "web"])
found = client.containers.run("busybox", ["nslookup", "buddy"], network="sdknet", remove=True)
check("alias resolves", b"Address" in found and b"buddy" in found, True)
net.disconnect(other)
for x in (web, other):
    x.remove(force=True)
net.remove()
check("network removed", "sdknet" in [n.name for n in client.networks.list()], False)
print("ok")
