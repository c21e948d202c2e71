"""Register formintake with a Prefect API: the process work pool and the deployments of prefect.yaml.

    PREFECT_API_URL=http://127.0.0.1:4200/api python deploy/register.py

Idempotent (safe on every start; the compose stack runs it as the one-shot `register` service):

1. wait until the Prefect API answers (``--wait`` seconds, default 120);
2. create the work pool ``formintake`` (type ``process``) unless it exists — an existing pool is left
   as it is (its concurrency limit or paused state are an operator's decision);
3. ``prefect deploy --all`` on the repository's prefect.yaml, without prompts, so prefect.yaml stays
   the one definition of the deployment (entrypoint, cron schedule, parameters, tags, concurrency);
4. print the registered deployment (name, schedule, upload trigger, parameters, pool).

Exit status 0 when registered, 1 when the API never answered or ``prefect deploy`` failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POOL = "formintake"
DEPLOYMENT = "formintake-ingest/formintake-ingest-2023"


async def _wait_for_api(timeout: float) -> None:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            async with get_client() as client:
                if await client.api_healthcheck() is None:
                    return
        except Exception as exc:  # noqa: BLE001 - anything means "not yet"
            last = exc
        await asyncio.sleep(2)
    raise SystemExit(f"register: Prefect API {os.environ.get('PREFECT_API_URL', '(unset)')} did not answer "
                     f"in {timeout:.0f}s (last error: {last})")


async def ensure_pool(name: str = POOL) -> bool:
    """Create the process work pool unless it exists. True when it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    async with get_client() as client:
        try:
            await client.read_work_pool(name)
            return False
        except ObjectNotFound:
            pass
        await client.create_work_pool(
            WorkPoolCreate(name=name, type="process", description="formintake workers (one flow run per process)",
                           base_job_template=ProcessWorker.get_default_base_job_template())
        )
        return True


async def show(name: str = DEPLOYMENT) -> dict:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        d = await client.read_deployment_by_name(name)
        return {
            "deployment": name,
            "id": str(d.id),
            "entrypoint": d.entrypoint,
            "work_pool": d.work_pool_name,
            "parameters": d.parameters,
            "tags": d.tags,
            "schedules": [f"cron {s.schedule.cron} {s.schedule.timezone} active={s.active}"  # type: ignore[union-attr]
                          for s in d.schedules],
            "concurrency_limit": d.global_concurrency_limit.limit if d.global_concurrency_limit else None,
            "triggers": [f"{a.name}: {', '.join(sorted(a.trigger.expect))} {a.trigger.posture} within "
                         f"{a.trigger.within.total_seconds():.0f}s"  # type: ignore[union-attr]
                         for a in await client.read_resource_related_automations(f"prefect.deployment.{d.id}")],
        }


def deploy_all(prefect_file: Path) -> None:
    cmd = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all", "--prefect-file", str(prefect_file)]
    proc = subprocess.run(cmd, cwd=prefect_file.parent, text=True, capture_output=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"register: prefect deploy failed with status {proc.returncode}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prefect-file", type=Path, default=ROOT / "prefect.yaml")
    ap.add_argument("--wait", type=float, default=120, help="seconds to wait for the Prefect API")
    args = ap.parse_args(argv)
    if not os.environ.get("PREFECT_API_URL"):
        # without it the CLI would deploy into a throw-away ephemeral server: certainly not what was meant
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            print("register: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)", file=sys.stderr)
            return 2
    t0 = time.perf_counter()
    asyncio.run(_wait_for_api(args.wait))
    created = asyncio.run(ensure_pool())
    print(f"work pool {POOL!r}: {'created' if created else 'exists'}")
    deploy_all(args.prefect_file.resolve())
    for k, v in asyncio.run(show()).items():
        print(f"{k:>18}: {v}")
    print(f"registered in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
