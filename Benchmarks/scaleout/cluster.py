"""The processes of the scale-out harness on loopback: `seqrec serve` replicas and one HAProxy running
deploy/haproxy.cfg, with free ports, readiness waits, Prometheus scrapes and HAProxy's stats socket.
Standard library only (Benchmarks/scaleout/run uses it)."""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout} s")


def connectable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Replica:
    """One `seqrec serve` on fixed loopback ports (kept across restarts, so HAProxy's config holds)."""

    def __init__(self, name: str, seqrec: str, model: str, workdir: str, extra=()):
        self.name, self.seqrec, self.model, self.workdir = name, seqrec, model, workdir
        self.port, self.admin_port, self.agent_port = free_port(), free_port(), free_port()
        self.extra = list(extra)
        self.process = None
        self.lifetimes = 0
        self.log_path = None
        self.finished_logs = []  # logs of lifetimes that ended

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0):
        self.lifetimes += 1
        self.log_path = os.path.join(self.workdir, f"{self.name}-{self.lifetimes}.log")
        log = open(self.log_path, "w")
        arguments = [self.seqrec, "serve", "--model", self.model, "--host", "127.0.0.1",
                     "--port", str(self.port), "--admin-port", str(self.admin_port),
                     "--agent-port", str(self.agent_port)] + self.extra
        self.process = subprocess.Popen(arguments, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(lambda: self._ready() or self._died(), timeout, f"{self.name} ready line")
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited before it was ready:\n{self.log()}")

    def _ready(self) -> bool:
        return "seqrec serve: ready on" in self.log()

    def _died(self) -> bool:
        return self.process.poll() is not None

    def log(self) -> str:
        with open(self.log_path, errors="replace") as handle:
            return handle.read()

    def sigterm(self):
        self.process.send_signal(signal.SIGTERM)

    def kill9(self):
        self.process.kill()
        self.process.wait()
        self.finished_logs.append(self.log_path)

    def wait(self, timeout: float = 60.0) -> int:
        code = self.process.wait(timeout=timeout)
        self.finished_logs.append(self.log_path)
        return code

    def stop(self, timeout: float = 60.0):
        """SIGTERM and wait (the graceful drain)."""
        if self.process is not None and self.process.poll() is None:
            self.sigterm()
            self.wait(timeout)

    @staticmethod
    def answered_in(log_path: str):
        """The 'N requests answered' of a lifetime's stopped line; None when it did not stop cleanly."""
        with open(log_path, errors="replace") as handle:
            match = re.search(r"seqrec serve: stopped; (\d+) requests answered", handle.read())
        return int(match.group(1)) if match else None

    def metrics(self) -> dict:
        """Summed samples by metric name (labels folded) from the admin port's /metrics."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        totals = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name_labels, _, value = line.rpartition(" ")
            name = name_labels.partition("{")[0]
            try:
                totals[name] = totals.get(name, 0.0) + float(value)
            except ValueError:
                pass
        return totals


class HAProxy:
    """haproxy -f deploy/haproxy.cfg in the foreground, with the replicas' addresses in its environment."""

    def __init__(self, binary: str, config: str, replicas, workdir: str):
        self.binary, self.config, self.workdir = binary, config, workdir
        self.port = free_port()
        self.stats_socket = os.path.join(workdir, "haproxy.sock")
        self.environment = dict(os.environ, SEQREC_LISTEN=f"127.0.0.1:{self.port}",
                                SEQREC_STATS_SOCKET=self.stats_socket)
        for number, replica in enumerate(replicas, start=1):
            self.environment[f"SEQREC_REPLICA{number}"] = replica.endpoint
            self.environment[f"SEQREC_AGENT{number}_PORT"] = str(replica.agent_port)
        self.process = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def check_config(self):
        subprocess.run([self.binary, "-c", "-q", "-f", self.config], env=self.environment, check=True)

    def start(self):
        self.log_path = os.path.join(self.workdir, "haproxy.log")
        log = open(self.log_path, "w")
        self.process = subprocess.Popen([self.binary, "-db", "-f", self.config], env=self.environment,
                                        stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(lambda: connectable(self.port) and os.path.exists(self.stats_socket), 10, "haproxy listening")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(self.stats_socket)
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_states(self) -> dict:
        """Server name → status as HAProxy reports it (UP, DOWN, DRAIN, MAINT, 'UP 1/2', …)."""
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        states = {}
        for line in lines[1:]:
            fields = dict(zip(header, line.split(",")))
            if fields.get("pxname") == "seqrec_replicas" and fields.get("svname") not in ("BACKEND", "FRONTEND"):
                states[fields["svname"]] = fields["status"]
        return states

    def wait_for_state(self, server: str, predicate, timeout: float) -> float:
        """Seconds until `predicate(status)` held for `server`."""
        start = time.monotonic()
        wait_until(lambda: predicate(self.server_states().get(server, "")), timeout,
                   f"haproxy state of {server}", interval=0.02)
        return time.monotonic() - start
