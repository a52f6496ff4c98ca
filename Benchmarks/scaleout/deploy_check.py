"""Static checks of deploy/ (run by Benchmarks/scaleout/run): the Kubernetes example's `seqrec serve`
arguments are accepted by the real binary, and the timings of kubernetes.yaml and haproxy.cfg match
the server's: termination grace > preStop + drain delay + drain grace; the readiness probe and
HAProxy's health check notice a drain within the drain delay; HAProxy's idle timeouts outlast the
server's, so the server (GOAWAY OK), not the balancer, ends idle connections. Standard library only
(the YAML is read with a few patterns, not a YAML parser; the patterns fail loudly if the file changes)."""

import json
import os
import re
import subprocess
import tempfile


def _one(pattern: str, text: str, what: str) -> str:
    match = re.search(pattern, text, re.S)
    if not match:
        raise ValueError(f"{what}: pattern {pattern!r} not found")
    return match.group(1)


def _milliseconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m)?", value).groups()
    return int(number) * {"ms": 1, "s": 1000, "m": 60000, None: 1}[unit]


def check_deploy(root: str, seqrec: str, model: str, check):
    with open(os.path.join(root, "deploy/kubernetes.yaml")) as handle:
        kube = handle.read()
    arguments = [part.strip().strip('"') for part in _one(r"args: \[(.*?)\]", kube, "container args").split(",")]
    # Run the same arguments with local files in place of the pod's.
    with tempfile.NamedTemporaryFile("w", suffix=".token") as token:
        token.write("change-me\n")
        token.flush()
        local = []
        for index, argument in enumerate(arguments):
            previous = arguments[index - 1] if index else ""
            local.append(model if previous == "--model" else token.name if previous == "--auth-token-file" else argument)
        printed = subprocess.run([seqrec] + local + ["--print-config"], capture_output=True, text=True)
    check("deploy/kubernetes.yaml: seqrec serve accepts the container's arguments", printed.returncode == 0,
          printed.stderr.strip()[:300] or "ok")
    if printed.returncode != 0:
        return
    settings = json.loads(printed.stdout)
    delay, drain_grace = settings["drain-delay-ms"], settings["drain-grace-ms"]
    termination = int(_one(r"terminationGracePeriodSeconds: (\d+)", kube, "termination grace")) * 1000
    pre_stop = int(_one(r"preStop:.*?/bin/sleep, \"(\d+)\"", kube, "preStop sleep")) * 1000
    check("deploy/kubernetes.yaml: termination grace > preStop + drain delay + drain grace",
          termination > pre_stop + delay + drain_grace,
          f"{termination} ms > {pre_stop} + {delay} + {drain_grace} ms")
    readiness = _one(r"readinessProbe:(.*?)livenessProbe", kube, "readiness probe")
    period = int(_one(r"periodSeconds: (\d+)", readiness, "readiness period")) * 1000
    threshold = int(_one(r"failureThreshold: (\d+)", readiness, "readiness threshold"))
    check("deploy/kubernetes.yaml: readiness notices the drain within the drain delay",
          period * threshold <= delay, f"{period} ms × {threshold} ≤ {delay} ms")
    check("deploy/kubernetes.yaml: maximum connection age set", settings.get("max-connection-age-s", 0) > 0,
          f"--max-connection-age-s {settings.get('max-connection-age-s')}")

    with open(os.path.join(root, "deploy/haproxy.cfg")) as handle:
        haproxy = handle.read()
    inter = _milliseconds(_one(r"default-server .*?inter (\S+)", haproxy, "check inter"))
    fall = int(_one(r"default-server .*? fall (\d+)", haproxy, "check fall"))
    check("deploy/haproxy.cfg: health check marks a draining replica down within the default drain delay",
          inter * fall <= delay, f"inter {inter} ms × fall {fall} ≤ {delay} ms")
    idle = settings["idle-timeout-ms"]
    client = _milliseconds(_one(r"timeout client (\S+)", haproxy, "timeout client"))
    server = _milliseconds(_one(r"timeout server (\S+)", haproxy, "timeout server"))
    check("deploy/haproxy.cfg: idle timeouts outlast the server's --idle-timeout-ms",
          min(client, server) > idle, f"client {client} ms, server {server} ms > {idle} ms")
    check("deploy/haproxy.cfg: probes with the constant bytes of docs/PROTOCOL.md §8",
          "send-binary 5352454376310d0a0000000e0900000000000001000000000000" in haproxy
          and "expect binary 0000000d0a000000000000010000000001" in haproxy, "send-binary / expect binary")
