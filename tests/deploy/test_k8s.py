"""k8s/: valid for Kubernetes (kubernetes-validate --strict; KEDA resources against the schema in
schemas/), and complete for the code it runs: every deployable, every setting, GPUs where the
engines need them, probes and resource requests everywhere, Redis with AOF on a volume, and KEDA
scaling on the RQ queue the gateway really uses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from redis import Redis
from rq import Queue

from gateway.routes.metrics import METRICS_PATH
from services.vlm.settings import VlmSettings
from tests.deploy.conftest import K8S_DIR
from tests.deploy.deployables import (
    GPU_ENGINES,
    deployables,
    drift_from_code_defaults,
    env_names,
    settings_from_env,
)
from tests.deploy.vllm_server import check_vllm_serves_vlm

DEPLOYABLES = deployables()
KEDA_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "keda.sh-v1alpha1.json").read_text())
KEDA_GROUP = "keda.sh/"
# The oldest minor still widely offered by managed clusters, and the newest the validator knows.
OLDEST_SUPPORTED_KUBERNETES = "1.33.0"
GPU = "nvidia.com/gpu"


def kubernetes_versions() -> list[str]:
    try:
        from kubernetes_validate.utils import latest_version
    except ImportError:
        return [OLDEST_SUPPORTED_KUBERNETES]
    return sorted({OLDEST_SUPPORTED_KUBERNETES, latest_version()})


def run_kubernetes_validate(paths: list[Path], version: str) -> subprocess.CompletedProcess:
    try:
        import kubernetes_validate  # noqa: F401
    except ImportError:
        pytest.skip("kubernetes-validate is not installed (pip install kubernetes-validate)")
    return subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", version,
         *map(str, paths)], capture_output=True, text=True, timeout=120)


def manifest_paths() -> list[Path]:
    return sorted(p for p in K8S_DIR.glob("*.yaml") if p.name != "kustomization.yaml")


# -- validators ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", kubernetes_versions())
def test_kubernetes_validate_strict_passes(k8s_documents, version) -> None:
    result = run_kubernetes_validate(manifest_paths(), version)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Unknown kinds are only warned about: make sure the only ones are KEDA's (checked below).
    unknown = re.findall(r"Couldn't find schema for kind (\S+) with api version (\S+)", output)
    assert unknown and all(api.startswith(KEDA_GROUP) for _, api in unknown), unknown
    core = [d for _, d in k8s_documents
            if d["kind"] != "Kustomization" and not d["apiVersion"].startswith(KEDA_GROUP)]
    assert output.count("passed for resource") == len(core), output


def test_kubernetes_validate_rejects_an_unknown_field(tmp_path) -> None:
    """--strict really is strict: a misplaced field fails validation."""
    documents = list(yaml.safe_load_all((K8S_DIR / "render.yaml").read_text()))
    documents[0]["spec"]["template"]["spec"]["containers"][0]["healthProbe"] = {}
    broken = tmp_path / "render.yaml"
    broken.write_text(yaml.safe_dump_all(documents))
    result = run_kubernetes_validate([broken], OLDEST_SUPPORTED_KUBERNETES)
    assert result.returncode != 0
    assert "healthProbe" in result.stdout + result.stderr


def keda_documents(k8s_documents) -> list[dict]:
    return [d for _, d in k8s_documents if d["apiVersion"].startswith(KEDA_GROUP)]


def test_keda_resources_match_the_checked_in_schema(k8s_documents) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="comes with kubernetes-validate")
    documents = keda_documents(k8s_documents)
    assert "ScaledObject" in {d["kind"] for d in documents}
    assert {d["kind"] for d in documents} <= {"ScaledObject", "TriggerAuthentication"}
    for document in documents:
        schema = {**KEDA_SCHEMA, "$ref": f"#/$defs/{document['kind']}"}
        jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


def test_keda_schema_rejects_a_broken_scaled_object(k8s_documents) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="comes with kubernetes-validate")
    scaled = next(d for d in keda_documents(k8s_documents) if d["kind"] == "ScaledObject")
    broken = json.loads(json.dumps(scaled))
    broken["spec"]["triggers"][0]["metadata"].pop("valueLocation")
    broken["spec"]["maxReplicas"] = 3  # KEDA calls it maxReplicaCount
    schema = {**KEDA_SCHEMA, "$ref": "#/$defs/ScaledObject"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


def test_kustomization_applies_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    assert set(kustomization["resources"]) == {p.name for p in manifest_paths()}
    assert kustomization["namespace"] == "imagewave"


# -- what the code needs ----------------------------------------------------------------


def main_container(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]["containers"][0]


def container_env(container: dict, objects: dict) -> dict[str, str]:
    """The container's environment as Kubernetes builds it: envFrom ConfigMaps, then env entries
    with $(NAME) references expanded; optional secret keys that do not exist stay unset."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(objects[("ConfigMap", source["configMapRef"]["name"])]["data"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]),
                                       item["value"])
            continue
        ref = item["valueFrom"]["secretKeyRef"]
        secret = objects[("Secret", ref["name"])]["stringData"]
        if ref["key"] in secret:
            env[item["name"]] = secret[ref["key"]]
        else:
            assert ref.get("optional"), f"{item['name']}: secret key {ref['key']} missing"
    return env


def deployment(objects: dict, name: str) -> dict:
    assert ("Deployment", name) in objects, f"no Deployment {name} in k8s/"
    return objects[("Deployment", name)]


@pytest.mark.parametrize("deployable", DEPLOYABLES, ids=lambda d: d.name)
def test_every_setting_is_in_the_deployment_environment(k8s_objects, deployable, monkeypatch):
    env = container_env(main_container(deployment(k8s_objects, deployable.name)), k8s_objects)
    manifests_text = "\n".join(p.read_text() for p in manifest_paths())
    missing = []
    for field, names in env_names(deployable.settings).items():
        if names & set(env):
            continue
        # An optional secret that is absent by default is still named in the manifests.
        if not any(name in manifests_text for name in names):
            missing.append(f"{field} ({' or '.join(sorted(names))})")
    assert not missing, f"{deployable.name}: settings without an environment entry: {missing}"
    drift = drift_from_code_defaults(deployable, env, monkeypatch)
    assert not drift, f"{deployable.name}: k8s value != code default (field: values): {drift}"


@pytest.mark.parametrize("deployable", [d for d in DEPLOYABLES if d.app], ids=lambda d: d.name)
def test_http_deployables_have_a_service_on_their_settings_port(k8s_objects, deployable,
                                                                 monkeypatch):
    container = main_container(deployment(k8s_objects, deployable.name))
    settings = settings_from_env(deployable.settings, container_env(container, k8s_objects),
                                 monkeypatch)
    assert settings.host == "0.0.0.0", f"{deployable.name} must listen on all interfaces"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == settings.port
    service = k8s_objects[("Service", deployable.name)]
    assert service["spec"]["selector"] == deployment(
        k8s_objects, deployable.name)["spec"]["selector"]["matchLabels"]
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        (settings.port, "http")]


@pytest.mark.parametrize("service", ["vlm", "t2a", "timbre", "render"])
def test_gateway_and_workers_reach_each_service(k8s_objects, service, monkeypatch) -> None:
    port = k8s_objects[("Service", service)]["spec"]["ports"][0]["port"]
    for client in ("gateway", "worker"):
        env = container_env(main_container(deployment(k8s_objects, client)), k8s_objects)
        url = urlparse(env[f"IMAGEWAVE_{service.upper()}_URL"])
        assert (url.hostname, url.port) == (service, port), f"{client} → {service}: {url}"


def workloads(k8s_objects) -> list[dict]:
    return [o for (kind, _), o in k8s_objects.items() if kind in ("Deployment", "StatefulSet")]


def test_every_workload_has_probes_and_resource_requests(k8s_objects) -> None:
    for workload in workloads(k8s_objects):
        name = workload["metadata"]["name"]
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for probe in ("readinessProbe", "livenessProbe"):
                assert probe in container, f"{name}: no {probe}"
            requests = container.get("resources", {}).get("requests", {})
            assert {"cpu", "memory"} <= set(requests), f"{name}: requests {requests}"
            assert "memory" in container["resources"].get("limits", {}), f"{name}: no limit"


@pytest.mark.parametrize("deployable", [d for d in DEPLOYABLES if d.app], ids=lambda d: d.name)
def test_http_probes_ask_healthz(k8s_objects, deployable) -> None:
    container = main_container(deployment(k8s_objects, deployable.name))
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_vllm_probes_ask_its_health_endpoint(k8s_objects) -> None:
    container = main_container(deployment(k8s_objects, "vllm"))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/health"


def requests_gpu(workload: dict) -> bool:
    return any(GPU in c.get("resources", {}).get("requests", {})
               for c in workload["spec"]["template"]["spec"]["containers"])


def test_gpu_services_request_a_gpu_and_nothing_else_does(k8s_objects, monkeypatch) -> None:
    needs = {"vllm"}
    for deployable in DEPLOYABLES:
        env = container_env(main_container(deployment(k8s_objects, deployable.name)),
                            k8s_objects)
        engine = env.get(f"{deployable.settings.model_config['env_prefix']}DEFAULT_ENGINE")
        if engine in GPU_ENGINES:
            needs.add(deployable.name)
    assert needs == {"vllm", "t2a", "timbre"}
    requesting = {w["metadata"]["name"] for w in workloads(k8s_objects) if requests_gpu(w)}
    assert requesting == needs
    for name in needs:
        workload = deployment(k8s_objects, name)
        resources = main_container(workload)["resources"]
        assert resources["requests"][GPU] == resources["limits"][GPU] == "1", name
        tolerations = workload["spec"]["template"]["spec"].get("tolerations", [])
        assert any(t["key"] == GPU for t in tolerations), f"{name}: no GPU taint toleration"


def test_redis_is_a_statefulset_appending_to_a_persistent_volume(k8s_objects) -> None:
    redis = k8s_objects[("StatefulSet", "redis")]
    container = main_container(redis)
    config_volume = next(v for v in redis["spec"]["template"]["spec"]["volumes"]
                         if "configMap" in v)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    config_text = k8s_objects[("ConfigMap", config_volume["configMap"]["name"])]["data"][
        "redis.conf"]
    assert f"{mounts[config_volume['name']]}/redis.conf" in " ".join(container["command"])
    config = dict(line.split(None, 1) for line in config_text.splitlines()
                  if line.strip() and not line.startswith("#"))
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "everysec"
    assert config["maxmemory-policy"] == "noeviction"
    claims = {t["metadata"]["name"] for t in redis["spec"]["volumeClaimTemplates"]}
    assert mounts[next(iter(claims & set(mounts)))] == config["dir"]
    assert k8s_objects[("Service", "redis")]["spec"]["ports"][0]["port"] == 6379


def test_gateway_and_workers_share_a_read_write_many_artifact_volume(k8s_objects) -> None:
    claims = set()
    for name in ("gateway", "worker"):
        workload = deployment(k8s_objects, name)
        container = main_container(workload)
        env = container_env(container, k8s_objects)
        mount = next(m for m in container["volumeMounts"]
                     if m["mountPath"] == env["IMAGEWAVE_ARTIFACT_DIR"])
        volume = next(v for v in workload["spec"]["template"]["spec"]["volumes"]
                      if v["name"] == mount["name"])
        claims.add(volume["persistentVolumeClaim"]["claimName"])
    assert len(claims) == 1
    claim = k8s_objects[("PersistentVolumeClaim", claims.pop())]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_model_services_mount_the_shared_model_volume(k8s_objects) -> None:
    claim = k8s_objects[("PersistentVolumeClaim", "imagewave-models")]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for name in ("vllm", "vlm", "t2a", "timbre"):
        workload = deployment(k8s_objects, name)
        volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
        mount = next(m for m in main_container(workload)["volumeMounts"]
                     if m["mountPath"] == "/models")
        assert volumes[mount["name"]]["persistentVolumeClaim"]["claimName"] == "imagewave-models"
    timbre_env = container_env(main_container(deployment(k8s_objects, "timbre")), k8s_objects)
    assert timbre_env["IMAGEWAVE_TIMBRE_MODEL_DIR"].startswith("/models/")


def test_vllm_serves_what_the_vlm_service_asks_for(k8s_objects, monkeypatch) -> None:
    container = main_container(deployment(k8s_objects, "vllm"))
    assert container["image"].startswith("vllm/vllm-openai:")
    assert container["command"] == ["vllm", "serve"]
    model, *args = container["args"]
    vllm_env = container_env(container, k8s_objects)
    vlm_env = container_env(main_container(deployment(k8s_objects, "vlm")), k8s_objects)
    vlm = settings_from_env(VlmSettings, vlm_env, monkeypatch)
    port = k8s_objects[("Service", "vllm")]["spec"]["ports"][0]["port"]
    check_vllm_serves_vlm(model, args, vlm, vllm_port=port, vllm_api_key=vllm_env["VLLM_API_KEY"])


def test_ingress_routes_to_the_gateway(k8s_objects) -> None:
    ingress = k8s_objects[("Ingress", "gateway")]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "gateway"
    assert backend["port"]["name"] in {p["name"] for p in
                                        k8s_objects[("Service", "gateway")]["spec"]["ports"]}
    annotations = ingress["metadata"]["annotations"]
    gateway_env = container_env(main_container(deployment(k8s_objects, "gateway")), k8s_objects)
    body_limit_mib = int(annotations["nginx.ingress.kubernetes.io/proxy-body-size"].rstrip("m"))
    assert body_limit_mib * 2**20 > int(gateway_env["IMAGEWAVE_MAX_UPLOAD_BYTES"])


# -- scaling ------------------------------------------------------------------------------


def scaled_objects(k8s_objects) -> dict[str, dict]:
    return {o["spec"]["scaleTargetRef"]["name"]: o for (kind, _), o in k8s_objects.items()
            if kind == "ScaledObject"}


def test_keda_scales_workers_and_gpu_services_on_busy_jobs(k8s_objects) -> None:
    """Every ScaledObject reads the gateway's queue gauge, through the gateway's Service, at the
    path the gateway serves, and targets the field that counts queued + started jobs."""
    gateway_service = k8s_objects[("Service", "gateway")]
    namespace = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())["namespace"]
    port = gateway_service["spec"]["ports"][0]["port"]
    scaled = scaled_objects(k8s_objects)
    assert {"worker", "vllm", "t2a", "timbre"} <= set(scaled)
    for target, scaled_object in scaled.items():
        spec = scaled_object["spec"]
        workload = deployment(k8s_objects, target)
        assert "replicas" not in workload["spec"], f"{target}: KEDA owns replicas"
        assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"] <= 50, target
        for trigger in spec["triggers"]:
            assert trigger["type"] == "metrics-api", target
            assert trigger.get("metricType", "AverageValue") == "AverageValue", target
            url = urlparse(trigger["metadata"]["url"])
            # KEDA's operator runs in its own namespace: it needs the cluster-wide name.
            assert (url.hostname, url.port) == (
                f"gateway.{namespace}.svc.cluster.local", port), target
            assert url.path == METRICS_PATH, target
            assert trigger["metadata"]["valueLocation"] == "busy", target
            assert float(trigger["metadata"]["targetValue"]) >= 1, target
    # one worker per busy job: a worker runs one job at a time
    assert scaled["worker"]["spec"]["triggers"][0]["metadata"]["targetValue"] == "1"


def test_the_gauge_keda_reads_counts_queued_and_started_jobs(k8s_objects, monkeypatch, tmp_path,
                                                             redis_url) -> None:
    """A real RQ worker runs one job while another waits: the queue list holds 1 (what a redis
    list trigger would see), the gauge KEDA reads says 2."""
    import httpx
    from rq.serializers import JSONSerializer

    from gateway.app import create_app
    from gateway.settings import GatewaySettings
    from tests.conftest import serve_app

    gateway_env = container_env(main_container(deployment(k8s_objects, "gateway")), k8s_objects)
    deployed = settings_from_env(GatewaySettings, gateway_env, monkeypatch)
    settings = GatewaySettings(redis_url=redis_url, queue_name=deployed.queue_name,
                               data_dir=tmp_path / "data", artifact_dir=tmp_path / "artifacts")
    trigger = scaled_objects(k8s_objects)["t2a"]["spec"]["triggers"][0]["metadata"]
    redis = Redis.from_url(redis_url)
    queue = Queue(settings.queue_name, connection=redis, serializer=JSONSerializer)
    for _ in range(2):
        queue.enqueue_call("time.sleep", args=(20,), timeout=60)
    rq_bin = Path(sys.executable).parent / "rq"
    worker = subprocess.Popen([str(rq_bin), "worker", "--burst", "--url", redis_url,
                               "--serializer", "rq.serializers.JSONSerializer",
                               settings.queue_name], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        with serve_app(create_app(settings)) as base_url:
            url = base_url + urlparse(trigger["url"]).path
            deadline = time.monotonic() + 30
            gauge = httpx.get(url, timeout=5).json()
            while gauge["started"] < 1 and time.monotonic() < deadline:
                time.sleep(0.2)
                gauge = httpx.get(url, timeout=5).json()
            assert redis.llen(queue.key) == 1
            assert (gauge["queued"], gauge["started"]) == (1, 1), gauge
            assert gauge[trigger["valueLocation"]] == 2
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_scale_down_waits_for_running_work(k8s_objects, monkeypatch) -> None:
    """A removed worker finishes its job (RQ warm shutdown) and a removed service answers the
    requests it has, so grace periods cover the job and service-call limits."""
    from gateway.settings import GatewaySettings

    gateway_env = container_env(main_container(deployment(k8s_objects, "gateway")), k8s_objects)
    settings = settings_from_env(GatewaySettings, gateway_env, monkeypatch)
    grace = {name: deployment(k8s_objects, name)["spec"]["template"]["spec"].get(
        "terminationGracePeriodSeconds", 30) for name in ("worker", "vlm", "t2a", "timbre",
                                                          "render", "vllm")}
    assert grace["worker"] >= settings.job_timeout_s
    longest_call_s = max([settings.service_timeout_s, *settings.stage_timeout_s.values()])
    for name in ("vlm", "t2a", "timbre", "render", "vllm"):
        assert grace[name] >= longest_call_s, name


def test_model_cache_is_prepared_in_every_pod_that_uses_it(k8s_objects) -> None:
    for name in ("vllm", "vlm", "t2a", "timbre"):
        pod = deployment(k8s_objects, name)["spec"]["template"]["spec"]
        init = next(c for c in pod.get("initContainers", []) if c["name"] == "prepare-models")
        models_volume = next(v["name"] for v in pod["volumes"] if v.get(
            "persistentVolumeClaim", {}).get("claimName") == "imagewave-models")
        assert {"name": models_volume, "mountPath": "/models"} in init["volumeMounts"]
        prepare = " ".join(init["command"])
        container = main_container(deployment(k8s_objects, name))
        env = container_env(container, k8s_objects)
        for path in [f"{env.get('HF_HOME', '/models/huggingface')}/hub/.locks",
                     env.get("IMAGEWAVE_TIMBRE_MODEL_DIR", "/models/rave")]:
            assert path in prepare, f"{name}: {path} not prepared"
        # The image's own user owns what it needs to write.
        run_as = pod.get("securityContext", {}).get("runAsUser", 0)
        assert run_as == 0 or f"chown {run_as}:{run_as}" in prepare, name


def test_no_pod_gets_service_link_variables(k8s_objects) -> None:
    """Kubernetes would export <SERVICE>_PORT=tcp://... for every Service; for the Service
    `vllm` that is VLLM_PORT, which vLLM refuses to start with."""
    services = {name for kind, name in k8s_objects if kind == "Service"}
    assert "vllm" in services
    for workload in workloads(k8s_objects):
        assert workload["spec"]["template"]["spec"].get("enableServiceLinks") is False, (
            workload["metadata"]["name"])


# The first start of a model service downloads its weights into the models volume: Qwen2.5-VL-7B
# is ~17 GB, which at a modest 25 MB/s is ~11 minutes before loading even starts.
LARGEST_DOWNLOAD_GB = {"vllm": 17.0, "vlm": 17.0, "t2a": 5.0}
SLOW_DOWNLOAD_MB_PER_S = 25.0


@pytest.mark.parametrize("name", sorted(LARGEST_DOWNLOAD_GB))
def test_startup_probes_allow_the_first_model_download(k8s_objects, name) -> None:
    probe = main_container(deployment(k8s_objects, name))["startupProbe"]
    window_s = probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3)
    needed_s = LARGEST_DOWNLOAD_GB[name] * 1000 / SLOW_DOWNLOAD_MB_PER_S
    assert window_s >= 1.5 * needed_s, f"{name}: startup window {window_s} s < {needed_s:.0f} s"
