"""The deployment files: prefect.yaml, deploy/compose.yaml, deploy/.env.example (static checks, no Docker)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from formintake.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def _config_variables() -> set[str]:
    """Every FORMINTAKE_* name a deployed pipeline reads: the settings model's fields (the one place every
    such variable is read, tests/test_settings.py), less those marked not for a deployment."""
    return {f"FORMINTAKE_{name.upper()}" for name, f in Settings.model_fields.items()
            if (f.json_schema_extra or {}).get("deploy", True)}


def _env_example() -> dict[str, str]:
    out = {}
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


# --------------------------------------------------------------------------- prefect.yaml


@pytest.fixture(scope="module")
def deployment() -> dict:
    doc = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    found = [d for d in doc["deployments"] if d["name"] == "formintake-ingest-2023"]
    assert len(found) == 1
    return found[0]


def test_prefect_yaml_has_no_network_steps():
    doc = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    assert not doc.get("build") and not doc.get("push")
    steps = [next(iter(s)) for s in doc["pull"]]
    assert steps == ["prefect.deployments.steps.set_working_directory"]


def test_entrypoint_imports_the_flow(deployment, monkeypatch):
    from prefect.flows import load_flow_from_entrypoint

    monkeypatch.chdir(ROOT)  # prefect.yaml entrypoints are relative to the project root
    assert deployment["entrypoint"] == "flows/ingest.py:ingest"
    flow = load_flow_from_entrypoint(deployment["entrypoint"])
    assert flow.name == "formintake-ingest"
    # every deployment parameter is a parameter of the flow
    assert set(deployment["parameters"]) <= set(flow.parameters.properties)


def test_schedule_parameters_pool(deployment):
    assert deployment["parameters"] == {"campaign": "2023", "full": False}
    assert set(deployment["tags"]) == {"formintake", "campaign-2023"}
    (schedule,) = deployment["schedules"]
    assert schedule["cron"] == "*/30 * * * *"
    assert schedule["timezone"] == "Asia/Shanghai"
    assert schedule.get("active", True) is True
    assert deployment["work_pool"]["name"] == "formintake"
    limit = deployment["concurrency_limit"]
    assert (limit if isinstance(limit, int) else limit["limit"]) == 1


def test_description_and_parameter_descriptions(deployment, monkeypatch):
    """The deployment page and the custom-run form read cleanly: no literal $VARIABLE, every parameter
    described (Prefect takes the descriptions from the flow docstring's Args)."""
    from prefect.flows import load_flow_from_entrypoint

    assert "$" not in deployment["description"] and "{{" not in deployment["description"]
    monkeypatch.chdir(ROOT)
    props = load_flow_from_entrypoint(deployment["entrypoint"]).parameters.model_dump()["properties"]
    assert {"campaign", "full"} <= set(props)
    assert all(v.get("description") for v in props.values()), props


def test_upload_trigger_debounces(deployment):
    """One trigger on the watcher's event: a trailing debounce (Proactive, the same event in after and
    expect), for this campaign only, with the deployment's own parameters."""
    from pydantic import TypeAdapter
    from prefect.events.schemas.deployment_triggers import DeploymentTriggerTypes

    (raw,) = deployment["triggers"]
    trig = TypeAdapter(DeploymentTriggerTypes).validate_python(raw)
    assert trig.after == trig.expect == {"formintake.upload.created"}
    assert trig.posture == "Proactive" and trig.threshold == 1
    # windows opened only by uploads (without for_each Prefect opens one every `within`: a run a minute)
    assert trig.for_each == {"formintake.campaign"}
    assert 10 <= trig.within.total_seconds() <= 120
    assert trig.match_related.root == {"prefect.resource.id": "formintake.campaign.2023", "prefect.resource.role": "campaign"}
    assert trig.parameters == deployment["parameters"]
    assert deployment["schedules"], "the cron stays as the safety net"


def test_prefect_accepts_the_yaml():
    """Prefect's own model of prefect.yaml and its schedule parser accept the file."""
    from prefect.cli.deploy._models import PrefectYamlModel
    from prefect.client.schemas.schedules import CronSchedule

    model = PrefectYamlModel.model_validate(yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8")))
    (dep,) = model.deployments
    sched = dep.schedules[0]
    cron = CronSchedule(cron=sched.cron, timezone=sched.timezone)
    assert cron.timezone == "Asia/Shanghai"


# --------------------------------------------------------------------------- compose.yaml


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_services(compose):
    services = compose["services"]
    assert {"minio", "postgres", "prefect-server", "worker"} <= set(services)
    for name in ("minio", "postgres", "prefect-server", "worker"):
        assert "healthcheck" in services[name], name
    assert services["worker"]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert "--pool" in services["worker"]["command"] and "formintake" in services["worker"]["command"]
    db_url = services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert db_url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in db_url
    init = "\n".join(services["minio-init"]["command"])
    assert "mc version enable" in init
    assert "s3:ListenBucketNotification" in init  # the watcher follows MinIO's bucket notifications
    assert services["watcher"]["command"][:2] == ["formintake", "watch"]
    assert services["watcher"]["environment"] == services["worker"]["environment"]


def test_compose_passes_every_config_variable(compose):
    env = compose["services"]["worker"]["environment"]
    missing = _config_variables() - set(env)
    assert not missing, f"worker environment lacks {sorted(missing)}"
    unknown = {k for k in env if k.startswith("FORMINTAKE_")} - _config_variables() - {"FORMINTAKE_LOG_LEVEL",
                                                                                       "FORMINTAKE_HOME"}
    assert not unknown, f"compose passes variables formintake does not read: {sorted(unknown)}"


def test_compose_interpolations_are_in_env_example():
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text))
    missing = used - set(_env_example())
    assert not missing, f"deploy/.env.example lacks {sorted(missing)}"


def test_dockerfile():
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert text.lstrip().startswith("#") or text.lstrip().startswith("FROM")
    assert "FROM python:3.11-slim" in text
    assert "fonts-wqy-microhei" in text
    assert "FORMINTAKE_HOME=/opt/formintake" in text


# --------------------------------------------------------------------------- .env.example


def test_env_example_has_every_variable():
    env = _env_example()
    missing = _config_variables() - set(env)
    assert not missing, f"deploy/.env.example lacks {sorted(missing)}"


def test_env_example_has_no_real_secret():
    env = _env_example()
    secretish = [k for k in env if re.search(r"PASSWORD|SECRET", k)]
    assert secretish, "expected placeholder secrets"
    for k in secretish:
        assert env[k] == "change-me", f"{k} must be the placeholder change-me, not a value"
    for k, v in env.items():
        # nothing that looks like a generated key: long runs of hex / base64
        assert not re.search(r"[0-9a-fA-F]{24,}|[A-Za-z0-9+/_-]{32,}", v), f"{k} looks like a real secret"
