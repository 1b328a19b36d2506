"""Real processes for the replicas tests: a `redis-server` on a free loopback port with a temporary
folder, and replicas of this server over streamable HTTP. Readiness is read from each process's
own log line (no polling, no sleeps); each is stopped by its PID."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from tests.ollama_double.server import OllamaDouble

REDIS_READY = "Ready to accept connections"
REPLICA_READY = "Uvicorn running on"
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


MISSING_REDIS = "redis-server is not installed: `apt-get install -y redis-server`"


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise FileNotFoundError(MISSING_REDIS)
    return found


class LoggedProcess:
    """A process whose output is read line by line in a thread; `wait_for` blocks until a line
    containing a text appears (or the process ends, or the timeout passes)."""

    def __init__(self, command: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.command = list(command)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, text: str, *, start: int = 0, timeout: float = START_TIMEOUT) -> str:
        def found() -> str | None:
            return next((line for line in self.lines[start:] if text in line), None)

        with self._changed:
            ok = self._changed.wait_for(
                lambda: found() is not None or not self._reader.is_alive(), timeout=timeout
            )
            line = found()
        if not ok or line is None:
            log = "\n".join(self.lines[-40:])
            raise AssertionError(f"{self.command[0]} never logged {text!r}:\n{log}")
        return line

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            os.kill(self.pid, sig)
        code = self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        return code

    def stop_when_done(self, timeout: float = START_TIMEOUT) -> int:
        """Wait for the process to end by itself; its exit code."""
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code

    def log(self) -> str:
        return "\n".join(self.lines)


class TlsFiles:
    """A self-signed certificate for 127.0.0.1 (its own CA), made with the openssl command."""

    def __init__(self, folder: Path) -> None:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise FileNotFoundError("openssl is not installed: `apt-get install -y openssl`")
        folder.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = folder / "redis.crt", folder / "redis.key"
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-keyout",
                str(self.key),
                "-out",
                str(self.cert),
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )


class RedisServer:
    """A redis-server of our own: loopback, a free port, a temporary folder, AOF on (so a
    restart keeps what was written, as a team's Redis would)."""

    def __init__(
        self, folder: Path, *, password: str | None = None, tls: TlsFiles | None = None
    ) -> None:
        self.binary = redis_binary()
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.password = password
        self.tls = tls
        self.process: LoggedProcess | None = None

    @property
    def url(self) -> str:
        """Without the password (given apart, as OLLAMA_MCP_STATE_PASSWORD)."""
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                   "--dir", str(self.folder), "--save", "", "--appendonly", "yes",
                   "--appendfsync", "always", "--protected-mode", "yes"]  # fmt: skip
        if self.password:
            command += ["--requirepass", self.password]
        if self.tls:
            cert, key = str(self.tls.cert), str(self.tls.key)
            command += ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", cert,
                        "--tls-key-file", key, "--tls-ca-cert-file", cert,
                        "--tls-auth-clients", "no"]  # fmt: skip
        self.process = LoggedProcess(command)
        self.process.wait_for(REDIS_READY)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


class Replica:
    """One replica: `python -m server` over streamable HTTP on a free port, on `double`, sharing
    state through the Redis at `state_url` (None: a server on its own)."""

    def __init__(
        self, double: OllamaDouble, state_url: str | None, cache: Path, *flags: str, **env: str
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA", "PYTEST"))}
        environ.update({"OLLAMA_HOST": double.url, "OLLAMA_MODELS": str(double.models_dir)})
        environ.update(env)
        command = [sys.executable, "-m", "server", "--transport", "streamable-http",
                   "--port", str(self.port), "--cache-dir", str(cache), "--log-level", "INFO",
                   *(["--state-url", state_url] if state_url else []), *flags]  # fmt: skip
        self.process = LoggedProcess(command, env=environ)

    @property
    def mcp(self) -> str:
        return f"{self.url}/mcp"

    def ready(self) -> Replica:
        self.process.wait_for(REPLICA_READY)
        return self

    def kill(self) -> None:
        self.process.stop(signal.SIGKILL)

    def stop(self) -> None:
        self.process.stop()
