"""Fresh interpreters set up as Lambda would run Baton's functions: cold start, peak RSS and log bytes.

Each child (``bench.child``) gets the environment the function has in AWS (its settings variables from
``baton.entry.settings``, powertools' variables with the deployed log level INFO, the Lambda runtime's own variables,
X-Ray tracing active) and no other: endpoints point at loopback, a moto server for SSM, Secrets Manager, SES,
SNS and SQS, DynamoDB Local for the table (``AWS_ENDPOINT_URL_<SERVICE>``, read by botocore; nothing in Baton
knows). The children import no moto, so their memory is Baton's own.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.world import bench_policy, seed

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
FUNCTIONS = ("arbiter", "profile", "sweeper")
MEMORY_MB = {"arbiter": 512, "profile": 256, "sweeper": 256}  # as infra/ declares them
TRACE_HEADER = "Root=1-6741a000-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1"
UNSUBSCRIBE_URL = "https://unsubscribe.shop.example/unsubscribe"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode on a free loopback port, stopped by its own pid on the way out."""
    port = _free_port()
    binary = Path(sys.executable).with_name("moto_server")
    command = [str(binary)] if binary.exists() else [sys.executable, "-m", "moto.server"]
    process = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def lambda_world(ddb_endpoint: str, table: str, customers: list[str]) -> Iterator[dict[str, str]]:
    """The AWS resources the functions read at start (keys secret, policy parameter, sender identity, queue)
    on a moto server, the table on DynamoDB Local with ``customers``; yields the common environment."""
    import boto3

    from baton.app.keys import LOCAL_ADDRESS_SALT, LOCAL_SIGNING_KEYS
    from baton.core.policy import policy_json
    from baton.local.mocked_aws import CONFIGURATION_SET, SENDER, create_table
    from baton.names import (
        ARBITER_QUEUE,
        NO_PYDANTIC_PLUGINS,
        POLICY_PARAMETER,
        SALT_SECRET_NAME,
        SIGNING_SECRET_NAME,
        Env,
    )

    with moto_server() as moto:

        def client(service: str, endpoint: str = moto) -> Any:
            return boto3.client(service, region_name=REGION, endpoint_url=endpoint)  # type: ignore[call-overload]

        salt = {"address_salt": LOCAL_ADDRESS_SALT.decode()}
        client("secretsmanager").create_secret(Name=SALT_SECRET_NAME, SecretString=json.dumps(salt))
        signing = json.dumps(LOCAL_SIGNING_KEYS.as_mapping())
        client("secretsmanager").create_secret(Name=SIGNING_SECRET_NAME, SecretString=signing)
        client("ssm").put_parameter(Name=POLICY_PARAMETER, Value=policy_json(bench_policy()), Type="String")
        client("sesv2").create_email_identity(EmailIdentity=SENDER)
        client("sesv2").create_configuration_set(ConfigurationSetName=CONFIGURATION_SET)
        queue_url = client("sqs").create_queue(QueueName=ARBITER_QUEUE)["QueueUrl"]
        templates_bucket = _template_store(client("s3"))
        create_table(client("dynamodb", ddb_endpoint), table)
        seed(lambda: client("dynamodb", ddb_endpoint), table, customers, 1, datetime.now(UTC), 1)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "LAMBDA_TASK_ROOT": str(ROOT),
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{_free_port()}",  # UDP, nobody listening
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_ENDPOINT_URL_DYNAMODB": ddb_endpoint,
            "AWS_ENDPOINT_URL_SSM": moto,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto,
            "AWS_ENDPOINT_URL_SESV2": moto,
            "AWS_ENDPOINT_URL_SNS": moto,
            "AWS_ENDPOINT_URL_SQS": moto,
            "AWS_ENDPOINT_URL_S3": moto,
            Env.POWERTOOLS_SERVICE_NAME: "baton",
            Env.POWERTOOLS_METRICS_NAMESPACE: "Baton",
            Env.POWERTOOLS_LOG_LEVEL: "INFO",
            Env.PYDANTIC_DISABLE_PLUGINS: NO_PYDANTIC_PLUGINS,
            Env.TABLE_NAME: table,
            Env.SALT_SECRET: SALT_SECRET_NAME,
            Env.SIGNING_SECRET: SIGNING_SECRET_NAME,
            Env.AUDIT_RETENTION_DAYS: "90",
            Env.POLICY_PARAMETER: POLICY_PARAMETER,
            Env.SENDER: SENDER,
            Env.SES_CONFIGURATION_SET: CONFIGURATION_SET,
            Env.UNSUBSCRIBE_URL: UNSUBSCRIBE_URL,
            Env.ARBITER_QUEUE_URL: queue_url,
            Env.TEMPLATES_BUCKET: templates_bucket,
        }
        yield env


def _template_store(s3: Any) -> str:
    """The stack's template store with the shipped set pushed, as ``make deploy`` leaves it; its name."""
    from baton.app.templates import SHIPPED, read_directory
    from baton.ops.templates_push import push

    bucket = "baton-bench-templates"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    push(s3, bucket, read_directory(SHIPPED), None)
    return bucket


def lambda_absent() -> list[str]:
    """Top-level modules installed here that a function in Lambda would not find: in neither the layer (the
    requirements ``infra.assets`` ships, and what they require) nor the runtime (``infra.assets``'s list of
    what it provides: boto3 and its dependencies). The development venv has more (moto's and the CDK's
    dependencies), and some are imported when present."""
    from importlib import metadata

    from packaging.requirements import Requirement

    from infra.assets import LAYER_REQUIREMENTS, RUNTIME_PROVIDED, canonical

    kept = {"baton", *RUNTIME_PROVIDED}
    todo = [Requirement(r) for r in LAYER_REQUIREMENTS]
    while todo:
        requirement = todo.pop()
        name = canonical(requirement.name)
        if name in kept:
            continue
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        kept.add(name)
        extras = requirement.extras or {""}
        for line in requires:
            needed = Requirement(line)
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras):
                todo.append(needed)
    return sorted(
        top
        for top, dists in metadata.packages_distributions().items()
        if top not in sys.stdlib_module_names and not any(canonical(d) in kept for d in dists)
    )


def function_env(common: dict[str, str], function: str) -> dict[str, str]:
    """The common environment, narrowed to what this function's settings model reads (as infra/ sets it)."""
    from baton.entry.settings import ALL_SETTINGS
    from baton.names import Env

    model = next(m for m in ALL_SETTINGS if m.function == function)
    own = set(model.env_names())
    ours = {v for k, v in vars(Env).items() if not k.startswith("_")}
    env = {k: v for k, v in common.items() if k not in ours or k in own}
    env["AWS_LAMBDA_FUNCTION_NAME"] = f"baton-{function}"
    env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = str(MEMORY_MB[function])
    env["BENCH_ABSENT"] = ",".join(lambda_absent())
    return env


def run_child(mode: str, function: str, env: dict[str, str], *flags: str) -> tuple[dict[str, Any], bytes, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        done = subprocess.run(
            [sys.executable, *flags, "-m", "bench.child", mode, function, str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"child {mode} {function} failed: {done.stderr.decode()[-2000:]}")
        return json.loads(out.read_text()), done.stdout, done.stderr


_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def import_breakdown(stderr: bytes, top: int = 8) -> list[dict[str, Any]]:
    """Own import time by top-level package from ``python -X importtime`` (each module's self time)."""
    own: dict[str, int] = defaultdict(int)
    for line in stderr.decode(errors="replace").splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            own[match.group(4).split(".")[0]] += int(match.group(1))
    total = sum(own.values()) or 1
    rows = sorted(own.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return [{"package": name, "ms": round(us / 1000, 1), "share": round(us / total, 3)} for name, us in rows]


def cold_start(common: dict[str, str], runs: int) -> dict[str, Any]:
    """Per function: Baton's start against the bare handler's (the ratio of record), and against its own
    libraries imported with nothing of Baton's (how much of the start is Baton's own code)."""
    out: dict[str, Any] = {}
    modes = ("baton", "bare", "libraries")
    for function in FUNCTIONS:
        env = function_env(common, function)
        first, _, _ = run_child("baton", function, env)  # which libraries the handler loads
        with tempfile.TemporaryDirectory() as tmp:
            listed = Path(tmp) / "libraries.json"
            listed.write_text(json.dumps(first["libraries"]))
            env = {**env, "BENCH_LIBRARIES": str(listed)}
            parts: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
            for _ in range(runs):
                for mode in modes:  # alternate, so drift hits all three
                    result, _, _ = run_child(mode, function, env)
                    parts[mode].append(result)
        _, _, baton_times = run_child("baton", function, env, "-X", "importtime")
        _, _, bare_times = run_child("bare", function, env, "-X", "importtime")
        ms = {mode: statistics.median(p["import_s"] + p["init_s"] for p in parts[mode]) * 1000 for mode in modes}

        def median_ms(mode: str, key: str, parts: dict[str, list[dict[str, Any]]] = parts) -> float:
            return round(statistics.median(p[key] for p in parts[mode]) * 1000, 1)

        out[function] = {
            "ratio": round(ms["baton"] / ms["bare"], 3),
            "baton_ms": round(ms["baton"], 1),
            "bare_ms": round(ms["bare"], 1),
            "baton_import_ms": median_ms("baton", "import_s"),
            "baton_init_ms": median_ms("baton", "init_s"),
            "bare_import_ms": median_ms("bare", "import_s"),
            "bare_init_ms": median_ms("bare", "init_s"),
            "libraries_ms": round(ms["libraries"], 1),
            "libraries_ratio": round(ms["libraries"] / ms["bare"], 3),
            "baton_over_libraries": round(ms["baton"] / ms["libraries"], 3),
            "library_modules": len(first["libraries"]),
            "library_modules_not_importable": max(int(p["failed"]) for p in parts["libraries"]),
            "runs": runs,
            "botocore_sessions": max(int(p["sessions"]) for p in parts["baton"]),
            "models_built": first["models_built"],
            "frozen_by_root": first["frozen_by_root"],
            "baton_imports": import_breakdown(baton_times),
            "bare_imports": import_breakdown(bare_times, top=4),
        }
        print(
            f"  cold start {function}: {out[function]['baton_ms']} ms vs bare {ms['bare']:.1f} ms,"
            f" its libraries alone {ms['libraries']:.1f} ms",
            file=sys.stderr,
        )
    return out


def peak_rss(common: dict[str, str], batches: list[list[str]]) -> dict[str, Any]:
    """One fresh arbiter per batch (each batch's customers new to it: every decision a send)."""
    results, log_bytes = [], []
    for customers in batches:
        env = {**function_env(common, "arbiter"), "BENCH_BATCH": ",".join(customers)}
        result, stdout, _ = run_child("batch", "arbiter", env)
        if result["failures"]:
            raise RuntimeError(f"the arbiter batch failed {result['failures']} record(s)")
        results.append(result)
        log_bytes.append(len(stdout) / result["records"])
    return {
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in results), 1),
        "batch": results[0]["records"],
        "runs": len(batches),
        "cold_batch_ms": round(statistics.median(r["batch_s"] for r in results) * 1000, 1),
        "import_ms": round(statistics.median(r["import_s"] for r in results) * 1000, 1),
        "log_bytes_per_decision": round(statistics.median(log_bytes)),
    }


def measure(ddb_endpoint: str, table: str, cold_runs: int, rss_runs: int, batch: int = 10) -> dict[str, Any]:
    batches = [[f"rss{run}-{i:02d}" for i in range(batch)] for run in range(rss_runs)]
    with lambda_world(ddb_endpoint, table, [c for b in batches for c in b]) as common:
        return {"cold_start": cold_start(common, cold_runs), "memory": peak_rss(common, batches)}
