"""Static checks of the deployment files, run by deploy/check.sh inside its own venv.

Lints the Helm chart strictly, renders it for several value sets, validates every manifest against
the Kubernetes schemas, and asserts the properties the chart promises (no /internal route, probes
and a restricted security context everywhere, every secret from values or an existing Secret, least
privilege between services, ...). Also checks the Dockerfile, docker-compose.yml, .env.example,
the nginx gateway configuration and the Dockerfile's uv steps. Prints one line per check and a
summary; exits 1 when any check fails.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "talkifai-telephony"
KUBE_VERSION = "1.31.0"
RELEASE, NAMESPACE = "telephony", "telephony"

# Secret keys of the chart's Secret and the values that feed them.
SECRET_VALUES = {
    "FERNET_KEYS": ("secrets", "fernetKeys"),
    "INTERNAL_API_TOKEN": ("secrets", "internalApiToken"),
    "AUTH_JWT_SECRET": ("secrets", "jwtSecret"),
    "WEBHOOK_SIGNING_SECRET": ("secrets", "webhookSigningSecret"),
    "LIVEKIT_API_KEY": ("livekit", "apiKey"),
    "LIVEKIT_API_SECRET": ("livekit", "apiSecret"),
    "NUMBERS_API_DATABASE_URL": ("database", "numbersApi", "url"),
    "CALL_ORCHESTRATOR_DATABASE_URL": ("database", "callOrchestrator", "url"),
}
PROVIDER_KEYS = {
    "OPENAI_API_KEY": "openaiApiKey",
    "DEEPGRAM_API_KEY": "deepgramApiKey",
    "CARTESIA_API_KEY": "cartesiaApiKey",
    "ELEVEN_API_KEY": "elevenApiKey",
    "GOOGLE_API_KEY": "googleApiKey",
}
SECRET_ENV = {
    *SECRET_VALUES,
    *PROVIDER_KEYS,
    "DATABASE_URL",
    "RECORDING_S3_ACCESS_KEY",
    "RECORDING_S3_SECRET_KEY",
}
# Which secret variables each workload may see (least privilege).
ALLOWED_SECRETS = {
    "numbers-api": {"FERNET_KEYS", "INTERNAL_API_TOKEN", "AUTH_JWT_SECRET", "DATABASE_URL"},
    "trunk-sync": {
        "INTERNAL_API_TOKEN",
        "AUTH_JWT_SECRET",
        "LIVEKIT_API_KEY",
        "LIVEKIT_API_SECRET",
    },
    "call-orchestrator": {
        "WEBHOOK_SIGNING_SECRET",
        "INTERNAL_API_TOKEN",
        "AUTH_JWT_SECRET",
        "LIVEKIT_API_KEY",
        "LIVEKIT_API_SECRET",
        "DATABASE_URL",
        # Object storage of recordings (recordings.s3.credentialsSecret), when set.
        "RECORDING_S3_ACCESS_KEY",
        "RECORDING_S3_SECRET_KEY",
    },
    "agent-runtime": {
        "INTERNAL_API_TOKEN",
        "AUTH_JWT_SECRET",
        "LIVEKIT_API_KEY",
        "LIVEKIT_API_SECRET",
        *PROVIDER_KEYS,
    },
    "studio": set(),
    # LiveKit's SIP service (sip.enabled): the LiveKit keys and, optionally, a Redis password.
    "sip": {"LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "SIP_REDIS_PASSWORD"},
    # LiveKit Egress (egress.enabled): the same, and the recordings' S3 keys for its default upload.
    "egress": {
        "LIVEKIT_API_KEY",
        "LIVEKIT_API_SECRET",
        "EGRESS_REDIS_PASSWORD",
        "EGRESS_S3_ACCESS_KEY",
        "EGRESS_S3_SECRET",
    },
}
ALLOWED_SECRETS["numbers-api-migrate"] = ALLOWED_SECRETS["numbers-api"]
ALLOWED_SECRETS["call-orchestrator-migrate"] = ALLOWED_SECRETS["call-orchestrator"]
# The secrets each service refuses to start without outside dev mode (its Settings' checks; the
# JWT secret is not here: a JWKS URL may stand in for it). The chart's Deployments are checked by
# loading each service's settings (`check_settings`); compose, in dev mode by default, by name.
REQUIRED_SECRETS = {
    "numbers-api": {"FERNET_KEYS", "INTERNAL_API_TOKEN"},
    "trunk-sync": {"INTERNAL_API_TOKEN", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"},
    "call-orchestrator": {
        "INTERNAL_API_TOKEN",
        "WEBHOOK_SIGNING_SECRET",
        "LIVEKIT_API_KEY",
        "LIVEKIT_API_SECRET",
    },
    "agent-runtime": {"INTERNAL_API_TOKEN", "LIVEKIT_API_SECRET"},
}
# The gateway routes of ARCHITECTURE.md: path -> (pathType, component).
PUBLIC_ROUTES = {
    "/agents": ("Prefix", "numbers-api"),
    "/phone-numbers": ("Prefix", "numbers-api"),
    "/carriers": ("Prefix", "numbers-api"),
    "/events": ("Prefix", "numbers-api"),
    "/telephony/outbound-call": ("Exact", "call-orchestrator"),
    "/calls": ("Prefix", "call-orchestrator"),
    "/usage": ("Exact", "call-orchestrator"),
    "/rate-deck": ("Exact", "call-orchestrator"),
    "/recording-retention": ("Exact", "call-orchestrator"),
    "/campaigns": ("Prefix", "call-orchestrator"),
    "/do-not-call": ("Prefix", "call-orchestrator"),
    "/livekit/webhook": ("Exact", "call-orchestrator"),
    "/telephony": ("Prefix", "studio"),
}
HPA_REQUIRED = {"numbers-api", "call-orchestrator", "trunk-sync"}
# Dockerfile target -> workspace member directory (the images built with uv).
PYTHON_TARGETS = {
    "numbers-api": "services/numbers-api",
    "trunk-sync": "services/trunk-sync",
    "call-orchestrator": "services/call-orchestrator",
    "agent-runtime": "services/agent-runtime",
    "livekit-emulator": "tools/livekit-emulator",
}


class CheckFailed(Exception):
    """A check's finding, told to the reader as is."""


class Report:
    """Runs checks, prints one line each, keeps the tally."""

    def __init__(self) -> None:
        self.passed: list[str] = []
        self.failed: list[str] = []
        self.skipped: list[str] = []

    def run(self, name: str, check: Callable[[], str | None]) -> None:
        """Run one check; a CheckFailed (or any error) is a failure, a returned text a note."""
        started = time.monotonic()
        try:
            note = check()
        except SkipCheck as exc:
            self.skipped.append(name)
            print(f"  SKIP  {name}: {exc}")
            return
        except CheckFailed as exc:
            self.failed.append(name)
            print(f"  FAIL  {name}\n        " + str(exc).replace("\n", "\n        "))
            return
        except Exception as exc:
            self.failed.append(name)
            print(f"  FAIL  {name}: {type(exc).__name__}: {exc}")
            return
        self.passed.append(name)
        took = time.monotonic() - started
        print(f"  ok    {name}" + (f" ({note})" if note else "") + f" [{took:.1f}s]")


class SkipCheck(Exception):
    """The thing checked does not exist yet (a service that has not landed)."""


def expect(problems: list[str]) -> None:
    """Fail with every problem found, or pass."""
    if problems:
        raise CheckFailed("\n".join(problems))


# --- Helm ---------------------------------------------------------------------------------------


def load_values(path: Path) -> dict[str, Any]:
    """A values file as a dict."""
    data = yaml.safe_load(path.read_text())
    return data if isinstance(data, dict) else {}


def deep_set(values: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set values[path[0]][path[1]]... = value, creating maps on the way."""
    node = values
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The chart's manifests for these values (NOTES.txt left out)."""
    with helm.Chart.load(str(CHART)) as chart:
        chart.validate_schema(values)
        out = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs: list[dict[str, Any]] = []
    for template, text in sorted(out.items()):
        if template.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                doc.setdefault("metadata", {}).setdefault("annotations", {})
                doc["_template"] = template
                docs.append(doc)
    return docs


def strip(doc: dict[str, Any]) -> dict[str, Any]:
    """The manifest without this script's bookkeeping keys."""
    clean = {k: v for k, v in doc.items() if not k.startswith("_")}
    if not clean["metadata"].get("annotations"):
        clean["metadata"] = {k: v for k, v in clean["metadata"].items() if k != "annotations"}
    return clean


def component(doc: dict[str, Any]) -> str:
    """The app.kubernetes.io/component label."""
    return str(doc["metadata"].get("labels", {}).get("app.kubernetes.io/component", ""))


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The manifests of one kind."""
    return [d for d in docs if d["kind"] == kind]


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    """The pod template's spec of a Deployment or Job."""
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def containers(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every container of a workload."""
    spec = pod_spec(doc)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def secret_env(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Variables of a workload that come from Secrets: name -> (secret, key)."""
    found: dict[str, tuple[str, str]] = {}
    for container in containers(doc):
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                found[env["name"]] = (ref["name"], ref["key"])
    return found


def check_workloads(docs: list[dict[str, Any]]) -> list[str]:
    """Probes, resources and the restricted security context on every workload."""
    problems: list[str] = []
    for doc in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
        name = f"{doc['kind']} {doc['metadata']['name']}"
        spec = pod_spec(doc)
        pod_ctx = spec.get("securityContext", {})
        if pod_ctx.get("runAsNonRoot") is not True:
            problems.append(f"{name}: pod securityContext.runAsNonRoot is not true")
        if pod_ctx.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: seccompProfile is not RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: mounts a ServiceAccount token it does not need")
        for c in containers(doc):
            ctx = c.get("securityContext", {})
            where = f"{name} container {c['name']}"
            if ctx.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem is writable")
            if ctx.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if ctx.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: does not drop ALL capabilities")
            if ctx.get("runAsNonRoot") is not True and pod_ctx.get("runAsNonRoot") is not True:
                problems.append(f"{where}: may run as root")
            if ctx.get("runAsUser", pod_ctx.get("runAsUser")) in (None, 0):
                problems.append(f"{where}: no non-zero runAsUser")
            resources = c.get("resources", {})
            if not resources.get("requests") or not resources.get("limits", {}).get("memory"):
                problems.append(f"{where}: needs resource requests and a memory limit")
            if doc["kind"] == "Deployment":
                for probe in ("livenessProbe", "readinessProbe"):
                    if probe not in c:
                        problems.append(f"{where}: has no {probe}")
                liveness = c.get("livenessProbe", {})
                if component(doc) == "sip":
                    # livekit/sip's health endpoint answers 429 under load: a busy SIP service
                    # must not be restarted, so its liveness is the port and readiness the path.
                    if "tcpSocket" not in liveness:
                        problems.append(f"{where}: liveness is not the health port")
                elif liveness.get("httpGet", {}).get("path") != "/healthz":
                    problems.append(f"{where}: liveness is not GET /healthz")
                if ":latest" in c["image"] or ":" not in c["image"]:
                    problems.append(f"{where}: image {c['image']} is not pinned")
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            if "/tmp" not in mounts:
                problems.append(f"{where}: no writable /tmp with a read-only root filesystem")
    return problems


def check_secrets(docs: list[dict[str, Any]], values: dict[str, Any]) -> list[str]:
    """No secret as a literal env value; each workload sees only its secrets; refs resolve."""
    problems: list[str] = []
    chart_secrets = {s["metadata"]["name"]: s for s in of_kind(docs, "Secret")}
    existing = {
        values.get("secrets", {}).get("existingSecret"),
        values.get("agentRuntime", {}).get("providers", {}).get("existingSecret"),
        values.get("sip", {}).get("redis", {}).get("passwordSecret", {}).get("name"),
        values.get("egress", {}).get("redis", {}).get("passwordSecret", {}).get("name"),
        values.get("recordings", {}).get("s3", {}).get("credentialsSecret", {}).get("name"),
    } - {None, ""}
    for doc in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
        comp = component(doc)
        name = f"{doc['kind']} {doc['metadata']['name']}"
        for c in containers(doc):
            for env in c.get("env", []):
                if env["name"] in SECRET_ENV and "value" in env:
                    problems.append(f"{name}: {env['name']} is a literal, not a secretKeyRef")
        refs = secret_env(doc)
        extra = set(refs) - ALLOWED_SECRETS.get(comp, set())
        if extra:
            problems.append(f"{name}: sees secrets it does not use: {sorted(extra)}")
        for env_name, (secret, key) in refs.items():
            optional = env_name in PROVIDER_KEYS
            if secret in existing:
                continue
            if secret not in chart_secrets:
                if not optional:
                    problems.append(f"{name}: {env_name} refers to missing Secret {secret}")
                continue
            if key not in chart_secrets[secret].get("data", {}) and not optional:
                problems.append(f"{name}: Secret {secret} has no key {key}")
    return problems


# Each service's settings class, to load with the environment the chart gives its Deployment.
SETTINGS_CLASSES = {
    "numbers-api": "numbers_api.config:Settings",
    "trunk-sync": "trunk_sync.config:Settings",
    "call-orchestrator": "call_orchestrator.config:Settings",
    "agent-runtime": "agent_runtime.config:Settings",
}
OPERATOR_INPUTS = {"LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"}
# Run by the workspace's Python: loads each service's Settings from the environment given on
# stdin ({component: {name: value}}) and prints {component: error} for those that refuse it.
# A value the chart leaves to an existing Secret arrives as null and gets a realistic stand-in.
_LOAD_SETTINGS = """
import importlib, json, os, secrets, sys
from cryptography.fernet import Fernet
from pydantic import ValidationError

def stand_in(name):
    if name == "FERNET_KEYS":
        return Fernet.generate_key().decode()
    if name == "DATABASE_URL":
        return "postgresql://user:password@postgresql:5432/db"
    if name == "LIVEKIT_API_KEY":
        return "APIkey" + secrets.token_hex(6)
    return secrets.token_hex(32)

errors = {}
for component, (target, env) in json.load(sys.stdin).items():
    module, _, cls = target.partition(":")
    settings = getattr(importlib.import_module(module), cls)
    os.environ.clear()
    os.environ.update({k: v if v is not None else stand_in(k) for k, v in env.items()})
    try:
        settings()
    except ValidationError as exc:
        errors[component] = "; ".join(e["msg"] for e in exc.errors())
print(json.dumps(errors))
"""


def deployment_env(doc: dict[str, Any], chart_secrets: dict[str, Any]) -> dict[str, str | None]:
    """The environment of a Deployment's main container: literal values, values of the chart's
    Secrets, None for a key of a Secret the chart does not hold, a stand-in for pod fields."""
    env: dict[str, str | None] = {}
    container = next(containers(doc))
    for item in container.get("env", []):
        source = item.get("valueFrom", {})
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif ref := source.get("secretKeyRef"):
            data = chart_secrets.get(ref["name"], {}).get("data", {})
            value = base64.b64decode(data[ref["key"]]).decode() if ref["key"] in data else None
            if value or item["name"] in OPERATOR_INPUTS:
                # LiveKit's keys are the operator's to give (values livekit.apiKey/apiSecret):
                # the variants leave them empty, a stand-in takes their place.
                env[item["name"]] = value or None
            elif not ref.get("optional"):
                env[item["name"]] = value
        elif "fieldRef" in source:
            env[item["name"]] = "pod-0"
    return env


def check_settings(docs: list[dict[str, Any]]) -> str:
    """Every service starts with the environment its Deployment gets (its settings validate)."""
    python = ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        raise SkipCheck("no workspace venv to load the services' settings (make setup)")
    chart_secrets = {s["metadata"]["name"]: s for s in of_kind(docs, "Secret")}
    payload = {
        component(d): (SETTINGS_CLASSES[component(d)], deployment_env(d, chart_secrets))
        for d in of_kind(docs, "Deployment")
        if component(d) in SETTINGS_CLASSES
    }
    result = subprocess.run(
        [str(python), "-c", _LOAD_SETTINGS],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=DEPLOY / ".cache",
        check=False,
    )
    if result.returncode != 0:
        raise CheckFailed(f"loading the settings failed:\n{result.stderr[-2000:]}")
    errors: dict[str, str] = json.loads(result.stdout)
    expect([f"{name}: {error}" for name, error in sorted(errors.items())])
    return f"{len(payload)} services"


def check_routes(docs: list[dict[str, Any]]) -> list[str]:
    """The Ingresses route exactly the public paths; /internal and /dev never; SSE unbuffered."""
    problems: list[str] = []
    services = {s["metadata"]["name"]: component(s) for s in of_kind(docs, "Service")}
    seen: dict[str, tuple[str, str]] = {}
    for ing in of_kind(docs, "Ingress"):
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                p = path["path"]
                if p.startswith(("/internal", "/dev")) or p == "/":
                    problems.append(f"Ingress {ing['metadata']['name']} routes {p}")
                backend = path["backend"]["service"]["name"]
                seen[p] = (path["pathType"], services.get(backend, f"<missing {backend}>"))
                if p == "/events":
                    annotations = ing["metadata"].get("annotations", {})
                    if annotations.get("nginx.ingress.kubernetes.io/proxy-buffering") != "off":
                        problems.append("the /events Ingress does not turn proxy buffering off")
    if seen != PUBLIC_ROUTES:
        problems.append(f"routes differ from ARCHITECTURE.md's: {seen} != {PUBLIC_ROUTES}")
    return problems


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether matchLabels selects these labels."""
    return all(labels.get(k) == v for k, v in selector.items())


def check_scaling(docs: list[dict[str, Any]]) -> list[str]:
    """HPAs, PDBs and Services line up with the Deployments."""
    problems: list[str] = []
    deployments = {d["metadata"]["name"]: d for d in of_kind(docs, "Deployment")}
    hpa_targets = {
        h["spec"]["scaleTargetRef"]["name"] for h in of_kind(docs, "HorizontalPodAutoscaler")
    }
    for target in hpa_targets - set(deployments):
        problems.append(f"HPA targets missing Deployment {target}")
    for name, d in deployments.items():
        comp = component(d)
        if comp in HPA_REQUIRED and name not in hpa_targets:
            problems.append(f"{comp} has no HorizontalPodAutoscaler")
        if name in hpa_targets and "replicas" in d["spec"]:
            problems.append(f"{name}: sets replicas although an HPA owns them")
        labels = d["spec"]["template"]["metadata"]["labels"]
        if not selects(d["spec"]["selector"]["matchLabels"], labels):
            problems.append(f"{name}: selector does not select its pods")
        if not any(
            selects(p["spec"]["selector"]["matchLabels"], labels)
            for p in of_kind(docs, "PodDisruptionBudget")
        ):
            problems.append(f"{name}: no PodDisruptionBudget")
        ports = pod_spec(d)["containers"][0]["ports"]
        targets = {p["name"] for p in ports} | {p["containerPort"] for p in ports}
        svc = [s for s in of_kind(docs, "Service") if selects(s["spec"]["selector"], labels)]
        if not svc:
            problems.append(f"{name}: no Service")
        for s in svc:
            for sp in s["spec"]["ports"]:
                # The SIP service's RTP ports are not declared one by one (a range of hundreds).
                rtp = component(d) == "sip" and sp["name"].startswith("rtp-")
                if sp["targetPort"] not in targets and not rtp:
                    problems.append(
                        f"Service {s['metadata']['name']}: targetPort {sp['targetPort']} is not a container port"
                    )
    return problems


def check_network_policies(docs: list[dict[str, Any]], values: dict[str, Any]) -> list[str]:
    """Every pod is isolated both ways; only the services that need the internet get it."""
    problems: list[str] = []
    policies = of_kind(docs, "NetworkPolicy")
    internet = {"call-orchestrator", "agent-runtime", "sip", "egress"}
    for w in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
        labels = w["spec"]["template"]["metadata"]["labels"]
        mine = [p for p in policies if selects(p["spec"]["podSelector"]["matchLabels"], labels)]
        name = f"{w['kind']} {w['metadata']['name']}"
        if not mine:
            problems.append(f"{name}: no NetworkPolicy selects it")
            continue
        for p in mine:
            if sorted(p["spec"]["policyTypes"]) != ["Egress", "Ingress"]:
                problems.append(f"{name}: policy does not restrict both directions")
            for rule in p["spec"].get("egress", []):
                blocks = [
                    peer["ipBlock"]["cidr"] for peer in rule.get("to", []) if "ipBlock" in peer
                ]
                if "0.0.0.0/0" in blocks and component(w) not in internet:
                    problems.append(f"{name}: may reach the internet")
                if not rule.get("ports"):
                    problems.append(f"{name}: an egress rule allows every port")
            for rule in p["spec"].get("ingress", []):
                if not rule.get("ports"):
                    problems.append(f"{name}: an ingress rule allows every port")
        if component(w) in {"trunk-sync", "call-orchestrator", "agent-runtime"}:
            peers = [
                peer.get("podSelector", {})
                .get("matchLabels", {})
                .get("app.kubernetes.io/component")
                for p in mine
                for rule in p["spec"]["egress"]
                for peer in rule.get("to", [])
            ]
            if "numbers-api" not in peers:
                problems.append(f"{component(w)} may not reach numbers-api's internal API")
    return problems


def check_hooks(docs: list[dict[str, Any]], values: dict[str, Any]) -> list[str]:
    """A migration Job per database, as a pre-install/pre-upgrade hook after what it needs."""
    problems: list[str] = []
    jobs = {component(j): j for j in of_kind(docs, "Job")}
    for comp in ("numbers-api", "call-orchestrator"):
        job = jobs.get(f"{comp}-migrate")
        if job is None:
            problems.append(f"no migration Job for {comp}")
            continue
        hook = job["metadata"]["annotations"]
        if set(hook.get("helm.sh/hook", "").split(",")) != {"pre-install", "pre-upgrade"}:
            problems.append(f"{comp}-migrate is not a pre-install,pre-upgrade hook")
        if pod_spec(job)["containers"][0].get("args") != ["migrate"]:
            problems.append(f"{comp}-migrate does not run `migrate`")
        weight = int(hook.get("helm.sh/hook-weight", "0"))
        job_secrets = {secret for secret, _ in secret_env(job).values()}
        needed = [s for s in of_kind(docs, "Secret") if s["metadata"]["name"] in job_secrets]
        needed += [p for p in of_kind(docs, "NetworkPolicy") if component(p) == f"{comp}-migrate"]
        for res in needed:
            ann = res["metadata"]["annotations"]
            before = int(ann.get("helm.sh/hook-weight", "0")) < weight
            if "pre-install" not in ann.get("helm.sh/hook", "") or not before:
                problems.append(
                    f"{res['kind']} {res['metadata']['name']} is not in place before {comp}-migrate"
                )
    return problems


def sip_config(doc: dict[str, Any]) -> dict[str, Any]:
    """The livekit/sip configuration a SIP Deployment passes in SIP_CONFIG_BODY."""
    env = {e["name"]: e for e in pod_spec(doc)["containers"][0].get("env", [])}
    if "value" not in env.get("SIP_CONFIG_BODY", {}):
        raise CheckFailed(f"{doc['metadata']['name']}: no SIP_CONFIG_BODY")
    config = yaml.safe_load(env["SIP_CONFIG_BODY"]["value"])
    assert isinstance(config, dict)
    return config


def check_sip(docs: list[dict[str, Any]], values: dict[str, Any]) -> list[str]:
    """The SIP service: TLS on its port with the certificate mounted from a Secret, the RTP range
    and signalling reachable (hostNetwork, or a Service listing every port), no secret inline."""
    problems: list[str] = []
    sip = {**load_values(CHART / "values.yaml")["sip"], **values.get("sip", {})}
    tls = {
        **load_values(CHART / "values.yaml")["sip"]["tls"],
        **values.get("sip", {}).get("tls", {}),
    }
    rtp = {
        **load_values(CHART / "values.yaml")["sip"]["rtpPortRange"],
        **sip.get("rtpPortRange", {}),
    }
    deployments = [d for d in of_kind(docs, "Deployment") if component(d) == "sip"]
    if not sip.get("enabled"):
        return ["a SIP Deployment although sip.enabled is false"] if deployments else []
    if len(deployments) != 1:
        return [f"{len(deployments)} SIP Deployments, not 1"]
    doc = deployments[0]
    spec = pod_spec(doc)
    container = spec["containers"][0]
    config = sip_config(doc)
    if not re.fullmatch(r"[^:]+:v\d+\.\d+\.\d+", container["image"]):
        problems.append(f"SIP image {container['image']} is not an exact release")
    if config.get("sip_port") != sip["port"]:
        problems.append(f"sip_port is {config.get('sip_port')}, not {sip['port']}")
    if config.get("rtp_port") != f"{rtp['start']}-{rtp['end']}":
        problems.append(f"rtp_port {config.get('rtp_port')} is not the values' range")
    password = config.get("redis", {}).get("password")
    if (
        "api_key" in config
        or "api_secret" in config
        or password not in (None, "$(SIP_REDIS_PASSWORD)")
    ):
        problems.append("the SIP configuration holds a secret inline (not from a Secret)")
    if tls.get("enabled", True):
        block = config.get("tls") or {}
        if block.get("port") != tls.get("port", 5061):
            problems.append(f"the SIP configuration's tls.port is {block.get('port')}")
        certs = block.get("certs") or []
        if not certs:
            problems.append("the SIP configuration's tls block has no certs")
        secret_name = tls.get("secretName") or ""
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
        for cert in certs:
            for path in (cert.get("cert_file", ""), cert.get("key_file", "")):
                directory, _, file = path.rpartition("/")
                mount = mounts.get(directory) or {}
                source = volumes.get(mount.get("name", ""), {}).get("secret", {})
                if not source or not mount.get("readOnly"):
                    problems.append(f"{path} is not mounted read-only from a Secret")
                    continue
                if secret_name and source.get("secretName") != secret_name:
                    problems.append(
                        f"{path} comes from {source.get('secretName')}, not {secret_name}"
                    )
                if file not in {i["path"] for i in source.get("items", [])}:
                    problems.append(f"{path}: the Secret volume does not project {file}")
        if not secret_name:
            dev = [
                x
                for x in of_kind(docs, "Secret")
                if x["metadata"]["name"]
                == volumes.get("tls", {}).get("secret", {}).get("secretName")
            ]
            if not tls.get("selfSigned") or not dev:
                problems.append("TLS without sip.tls.secretName and without the dev certificate")
        elif any(x["metadata"]["name"] == secret_name for x in of_kind(docs, "Secret")):
            problems.append(
                f"the chart creates the TLS Secret {secret_name} it should only refer to"
            )
        declared = {(p["containerPort"], p["protocol"]) for p in container["ports"]}
        if (tls.get("port", 5061), "TCP") not in declared:
            problems.append("the TLS port is not a container port")
    services = [x for x in of_kind(docs, "Service") if component(x) == "sip"]
    if spec.get("hostNetwork"):
        if spec.get("dnsPolicy") != "ClusterFirstWithHostNet":
            problems.append("hostNetwork without dnsPolicy ClusterFirstWithHostNet")
    else:
        exposed = {(p["port"], p["protocol"]) for x in services for p in x["spec"]["ports"]}
        wanted = {(5060, "UDP"), (5060, "TCP")} | {
            (port, "UDP") for port in range(rtp["start"], rtp["end"] + 1)
        }
        if tls.get("enabled", True):
            wanted.add((tls.get("port", 5061), "TCP"))
        if missing := sorted(wanted - exposed):
            problems.append(f"the SIP Service does not expose {missing[:5]}...")
        if not any(x["spec"].get("externalTrafficPolicy") == "Local" for x in services):
            problems.append("the SIP Service hides the carrier's address (externalTrafficPolicy)")
    return problems


def check_egress(docs: list[dict[str, Any]], values: dict[str, Any]) -> list[str]:
    """LiveKit Egress: an exact release (compose's), a configuration with no secret inline, the
    recordings' bucket as its default upload."""
    problems: list[str] = []
    deployments = [d for d in of_kind(docs, "Deployment") if component(d) == "egress"]
    if not values.get("egress", {}).get("enabled"):
        return ["an egress Deployment although egress.enabled is false"] if deployments else []
    if len(deployments) != 1:
        return [f"{len(deployments)} egress Deployments, not 1"]
    container = next(containers(deployments[0]))
    if not re.fullmatch(r".*livekit/egress:v\d+\.\d+\.\d+", container["image"]):
        problems.append(f"egress image {container['image']} is not an exact release")
    env = {e["name"]: e for e in container.get("env", [])}
    config = yaml.safe_load(env.get("EGRESS_CONFIG_BODY", {}).get("value", "{}"))
    s3 = config.get("storage", {}).get("s3", {})
    bucket = values.get("recordings", {}).get("s3", {}).get("bucket")
    if bucket and s3.get("bucket") != bucket:
        problems.append(f"egress uploads to {s3.get('bucket')}, not recordings.s3.bucket {bucket}")
    for key, ref in (("access_key", "$(EGRESS_S3_ACCESS_KEY)"), ("secret", "$(EGRESS_S3_SECRET)")):
        if s3.get(key) not in (None, ref):
            problems.append(f"the egress configuration holds storage.s3.{key} inline")
    if config.get("redis", {}).get("password") not in (None, "$(EGRESS_REDIS_PASSWORD)"):
        problems.append("the egress configuration holds the Redis password inline")
    return problems


def claim_mounts(doc: dict[str, Any]) -> dict[str, str]:
    """PersistentVolumeClaims a Deployment's main container mounts: claim name -> mount path."""
    spec = pod_spec(doc)
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in spec.get("volumes", [])
        if "persistentVolumeClaim" in v
    }
    container = spec["containers"][0]
    return {
        claims[m["name"]]: m["mountPath"]
        for m in container.get("volumeMounts", [])
        if m["name"] in claims
    }


def check_recording_backup(docs: list[dict[str, Any]], values: dict[str, Any]) -> list[str]:
    """Egress's backup storage (recordings.backup.existingClaim): egress keeps recordings it could
    not upload under the claim's mount path (its `backup:` prefix) and call-orchestrator mounts the
    same claim at the same path as RECORDING_BACKUP_DIR, so egress's reported location names the
    file there too; without a claim, neither."""
    problems: list[str] = []
    recordings = values.get("recordings", {})
    backup = recordings.get("backup", {})
    claim = backup.get("existingClaim")
    path = backup.get("mountPath", "/recordings-backup")
    deployments = {component(d): d for d in of_kind(docs, "Deployment")}
    orchestrator = deployments.get("call-orchestrator")
    if orchestrator is None:
        return ["no call-orchestrator Deployment"]
    env = {e["name"]: e.get("value") for e in next(containers(orchestrator)).get("env", [])}
    mounts = claim_mounts(orchestrator)
    egress = deployments.get("egress")
    egress_config: dict[str, Any] = {}
    if egress is not None:
        egress_env = {e["name"]: e for e in next(containers(egress)).get("env", [])}
        egress_config = yaml.safe_load(egress_env["EGRESS_CONFIG_BODY"]["value"])
    if not claim:
        if "RECORDING_BACKUP_DIR" in env or mounts:
            problems.append("call-orchestrator has a backup directory without a claim")
        if "backup" in egress_config and "backup" not in values.get("egress", {}).get(
            "extraConfig", {}
        ):
            problems.append("egress has a backup storage without recordings.backup.existingClaim")
        return problems
    if mounts.get(claim) != path:
        problems.append(f"call-orchestrator does not mount claim {claim} at {path}: {mounts}")
    if env.get("RECORDING_BACKUP_DIR") != path:
        problems.append(f"call-orchestrator's RECORDING_BACKUP_DIR is not {path}")
    if egress is None:
        if values.get("egress", {}).get("enabled"):
            problems.append("no egress Deployment")
        return problems
    if egress_config.get("backup") != {"prefix": path}:
        problems.append(f"egress's backup storage is {egress_config.get('backup')}, not {path}")
    if claim_mounts(egress).get(claim) != path:
        problems.append(f"egress does not mount claim {claim} at {path}")
    if not recordings.get("s3", {}).get("bucket"):
        problems.append("a backup claim without recordings.s3.bucket: nothing is uploaded from it")
    return problems


def check_sip_refusals(values: dict[str, Any]) -> str:
    """The chart refuses SIP settings that cannot work."""
    base: dict[str, Any] = {"sip": {"enabled": True, "tls": {"secretName": "sip-tls"}}}
    bad: dict[str, dict[str, Any]] = {
        "TLS without a certificate": {"sip": {"enabled": True}},
        "hostNetwork with a LoadBalancer": {
            "sip": {
                "enabled": True,
                "tls": {"secretName": "x"},
                "service": {"type": "LoadBalancer"},
            }
        },
        "neither hostNetwork nor a reachable Service": {
            "sip": {"enabled": True, "tls": {"secretName": "x"}, "hostNetwork": False}
        },
        "2 replicas behind a LoadBalancer": {
            "sip": {
                "enabled": True,
                "tls": {"secretName": "x"},
                "hostNetwork": False,
                "replicaCount": 2,
                "service": {"type": "LoadBalancer"},
            }
        },
        "an image tagged latest": {"sip": {"enabled": True, "image": {"tag": "latest"}}},
    }
    render({**values, **base})
    problems = []
    for what, override in bad.items():
        try:
            render({**values, **override})
        except Exception:
            continue
        problems.append(f"accepted: {what}")
    expect(problems)
    return f"{len(bad)} refused"


def check_secret_values(values: dict[str, Any]) -> str:
    """Every value of the chart's Secrets comes from values (sentinels in, sentinels out)."""
    probe = copy.deepcopy(values)
    sentinels = {key: f"sentinel-{key.lower()}-0123456789abcdef0123456789" for key in SECRET_VALUES}
    for key in ("NUMBERS_API_DATABASE_URL", "CALL_ORCHESTRATOR_DATABASE_URL"):
        sentinels[key] = f"postgresql://sentinel-{key.lower()}@db:5432/x"
    for key, path in SECRET_VALUES.items():
        deep_set(probe, path, sentinels[key])
    for key, field in PROVIDER_KEYS.items():
        sentinels[key] = f"sentinel-{key.lower()}"
        deep_set(probe, ("agentRuntime", "providers", field), sentinels[key])
    docs = render(probe)
    problems: list[str] = []
    found: dict[str, str] = {}
    for s in of_kind(docs, "Secret"):
        for key, encoded in (s.get("data") or {}).items():
            found[key] = base64.b64decode(encoded).decode()
        for key in s.get("stringData") or {}:
            problems.append(f"Secret {s['metadata']['name']}: stringData {key} bypasses values")
    for key, expected in sentinels.items():
        if found.get(key) != expected:
            problems.append(f"Secret key {key} does not come from its value")
    for key in set(found) - set(sentinels):
        problems.append(f"Secret key {key} comes from no value")
    expect(problems)
    return f"{len(found)} keys"


# --- compose, Dockerfile, nginx ---------------------------------------------------------------------


def dockerfile_stages(text: str) -> dict[str, list[str]]:
    """Stage name -> its instructions (continuation lines joined)."""
    stages: dict[str, list[str]] = {}
    current: list[str] | None = None
    joined = re.sub(r"\\\n", " ", text)
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if match:
            current = [f"BASE {match.group(1)}"]
            stages[match.group(2) or f"stage{len(stages)}"] = current
        elif current is not None:
            current.append(line)
    return stages


def stage_chain(stages: dict[str, list[str]], name: str) -> list[list[str]]:
    """The instructions of a stage and of the stages it is built FROM, nearest first."""
    chain = []
    while name in stages:
        chain.append(stages[name])
        name = stages[name][0].split()[1]
    return chain


def check_dockerfile() -> str:
    """Every target exists, runs as a non-root user and has a HEALTHCHECK; uv uses the lock."""
    text = (DEPLOY / "docker" / "Dockerfile").read_text()
    stages = dockerfile_stages(text)
    problems: list[str] = []
    for target in [*PYTHON_TARGETS, "studio"]:
        if target not in stages:
            problems.append(f"no target {target}")
            continue
        chain = stage_chain(stages, target)
        flat = [i for stage in chain for i in stage]
        users = [[i.split()[1] for i in stage if i.upper().startswith("USER ")] for stage in chain]
        last_user = next((u[-1] for u in users if u), "root")
        if last_user.split(":")[0] in {"root", "0"}:
            problems.append(f"{target}: does not end as a non-root user")
        if not any(i.upper().startswith("HEALTHCHECK") for i in flat):
            problems.append(f"{target}: no HEALTHCHECK")
        if target in PYTHON_TARGETS:
            syncs = [i for i in text.splitlines() if f"--package {target}" in i]
            if not syncs or not all("--locked" in s and "--no-dev" in s for s in syncs):
                problems.append(f"{target}: not installed with uv sync --locked --no-dev")
            if not any(f"COPY --from=venv-{target} /app/.venv" in i for i in chain[0]):
                problems.append(f"{target}: runtime does not get its venv from venv-{target}")
    for path in re.findall(r"COPY\s+(?:--\S+\s+)*(deploy/\S+)", text):
        if not (ROOT / path).exists():
            problems.append(f"COPY source {path} does not exist")
    ignore = (ROOT / ".dockerignore").read_text().split()
    for needed in ("**/.venv", "**/node_modules", ".git", ".env"):
        if needed not in ignore:
            problems.append(f".dockerignore does not exclude {needed}")
    expect(problems)
    return f"{len(stages)} stages"


def compose_config(profile: str | None) -> dict[str, Any]:
    """`docker-compose config` of the compose file (validated by docker-compose itself)."""
    empty = DEPLOY / ".cache" / "empty.env"
    empty.parent.mkdir(parents=True, exist_ok=True)
    empty.write_text("")
    # An empty env file: the defaults are checked, not whatever a local .env holds.
    cmd = ["docker-compose", "--env-file", str(empty), "-f", str(ROOT / "docker-compose.yml")]
    if profile:
        cmd += ["--profile", profile]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["COMPOSE_PROJECT_NAME"] = "talkifai-check"
    result = subprocess.run([*cmd, "config"], capture_output=True, text=True, env=env, cwd=ROOT)
    if result.returncode != 0:
        raise CheckFailed(result.stderr.strip() or result.stdout.strip())
    data = yaml.safe_load(result.stdout)
    assert isinstance(data, dict)
    return data


def check_compose() -> str:
    """Health checks, dependency conditions, the emulator alias, the secrets each service
    needs, .env.example coverage."""
    if shutil.which("docker-compose") is None:
        raise CheckFailed("docker-compose is not installed")
    config = compose_config(None)
    compose_config("emulator")
    services: dict[str, Any] = config["services"]
    problems: list[str] = []
    stages = dockerfile_stages((DEPLOY / "docker" / "Dockerfile").read_text())
    required = {
        "postgres",
        "nats",
        "redis",
        "livekit",
        "livekit-sip",
        "otel-collector",
        "livekit-emulator",
        "numbers-api",
        "numbers-api-migrate",
        "trunk-sync",
        "call-orchestrator",
        "call-orchestrator-migrate",
        "agent-runtime",
        "studio",
    }
    for missing in sorted(required - set(services)):
        problems.append(f"no service {missing}")
    for name, svc in services.items():
        build = svc.get("build")
        if build:
            target = build.get("target")
            if build.get("dockerfile") != "deploy/docker/Dockerfile" or target not in stages:
                problems.append(f"{name}: builds unknown target {target}")
        has_health = "healthcheck" in svc or (
            build
            and any(
                i.upper().startswith("HEALTHCHECK")
                for s in stage_chain(stages, build["target"])
                for i in s
            )
        )
        one_shot = name.endswith("-migrate") or svc.get("restart") == "no"
        long_running = not one_shot and name not in {"otel-collector", "livekit-sip"}
        if long_running and not has_health:
            problems.append(f"{name}: no health check")
        for dep, cond in (svc.get("depends_on") or {}).items():
            if dep not in services:
                problems.append(f"{name}: depends on unknown {dep}")
            dep_svc = services.get(dep, {})
            condition = cond.get("condition")
            if (
                condition == "service_healthy"
                and "healthcheck" not in dep_svc
                and not dep_svc.get("build")
            ):
                problems.append(f"{name}: waits for {dep} to be healthy, which has no health check")
            if dep.endswith("-migrate") and condition != "service_completed_successfully":
                problems.append(f"{name}: does not wait for {dep} to complete")
        env = svc.get("environment") or {}
        if "LIVEKIT_URL" in env and "livekit" not in env["LIVEKIT_URL"]:
            problems.append(f"{name}: LIVEKIT_URL is not the livekit alias")
        # With DEV_MODE=false a service refuses to start without these; a value set in .env
        # must reach every service that needs it.
        missing = REQUIRED_SECRETS.get(name, set()) - set(env)
        if missing:
            problems.append(f"{name}: is not given {sorted(missing)}")
    aliases = services["livekit-emulator"].get("networks", {}).get("default", {}).get("aliases", [])
    if "livekit" not in aliases:
        problems.append("the emulator does not answer as `livekit`")
    if "livekit" not in services["livekit"].get("profiles", []):
        problems.append("the real LiveKit is not behind the `livekit` profile")
    # Every variable the compose file reads is documented in .env.example.
    raw = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", raw))
    used |= {
        k
        for svc in yaml.safe_load(raw)["services"].values()
        for k, v in _env_items(svc)
        if v is None
    }
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE)
    )
    for var in sorted(used - documented):
        problems.append(f".env.example does not document {var}")
    expect(problems)
    return f"{len(services)} services, {len(used)} variables documented"


def compose_volumes(svc: dict[str, Any]) -> dict[str, str]:
    """Named volumes a compose service mounts: mount path -> volume."""
    found: dict[str, str] = {}
    for volume in svc.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type", "volume") == "volume":
                found[volume["target"]] = volume["source"]
            continue
        source, _, rest = str(volume).partition(":")
        if rest and not source.startswith((".", "/")):
            found[rest.split(":")[0]] = source
    return found


def check_compose_backup(services: dict[str, Any], emulator: dict[str, Any]) -> list[str]:
    """Egress's backup storage in compose: egress.yaml's `backup:` prefix is a named volume that
    livekit-egress and call-orchestrator (RECORDING_BACKUP_DIR) both mount at that path, and the
    emulator keeps its failed uploads on it the same way."""
    config = yaml.safe_load((DEPLOY / "livekit" / "egress.yaml").read_text())
    prefix = config.get("backup", {}).get("prefix")
    if not prefix or not str(prefix).startswith("/") or set(config["backup"]) != {"prefix"}:
        return [f"egress.yaml's backup is not a local, absolute prefix: {config.get('backup')}"]
    problems: list[str] = []
    volume = compose_volumes(services["livekit-egress"]).get(prefix)
    if volume is None:
        problems.append(f"livekit-egress mounts no named volume at its backup prefix {prefix}")
    orchestrator = services["call-orchestrator"]
    if compose_volumes(orchestrator).get(prefix) != volume:
        problems.append(f"call-orchestrator does not mount egress's backup volume at {prefix}")
    if orchestrator.get("environment", {}).get("RECORDING_BACKUP_DIR") != prefix:
        problems.append(f"call-orchestrator's RECORDING_BACKUP_DIR is not {prefix}")
    emu = emulator["livekit-emulator"]
    emu_dir = emu.get("environment", {}).get("LIVEKIT_EMULATOR_EGRESS_BACKUP_DIR")
    if emu_dir != prefix or compose_volumes(emu).get(prefix) != volume:
        problems.append(f"the emulator does not keep failed uploads on {volume} at {prefix}")
    return problems


def check_compose_egress() -> str:
    """The compose egress: the chart's exact release, its configuration mounted, its backup
    storage shared with call-orchestrator."""
    services: dict[str, Any] = compose_config("livekit")["services"]
    egress = services.get("livekit-egress")
    if egress is None:
        raise CheckFailed("no livekit-egress service in the livekit profile")
    chart_tag = load_values(CHART / "values.yaml")["egress"]["image"]["tag"]
    problems: list[str] = []
    image = egress["image"]
    if not re.fullmatch(r"livekit/egress:v\d+\.\d+\.\d+", image):
        problems.append(f"livekit-egress image {image} is not an exact release")
    elif image.split(":")[1] != chart_tag:
        problems.append(f"compose runs {image}, the chart {chart_tag}")
    if egress.get("environment", {}).get("EGRESS_CONFIG_FILE") != "/etc/egress/egress.yaml":
        problems.append("livekit-egress does not read /etc/egress/egress.yaml")
    problems += check_compose_backup(services, compose_config("emulator")["services"])
    expect(problems)
    return f"{image}, backup storage shared with call-orchestrator"


def check_compose_sip() -> str:
    """The compose SIP service: an exact release (the chart's), TLS on 5061 with the certificate
    mounted from deploy/livekit/tls, the config's ports published, the dev certificate first."""
    services: dict[str, Any] = compose_config("livekit")["services"]
    sip = services["livekit-sip"]
    config = yaml.safe_load((DEPLOY / "livekit" / "sip.yaml").read_text())
    chart_sip = load_values(CHART / "values.yaml")["sip"]
    problems: list[str] = []
    image = sip["image"]
    if not re.fullmatch(r"livekit/sip:v\d+\.\d+\.\d+", image):
        problems.append(f"livekit-sip image {image} is not an exact release")
    if image.split(":")[1] != chart_sip["image"]["tag"]:
        problems.append(f"compose runs {image}, the chart {chart_sip['image']['tag']}")
    mounts: dict[str, str] = {}
    for v in sip.get("volumes", []):
        source, target = (v["source"], v["target"]) if isinstance(v, dict) else v.split(":")[:2]
        mounts[target] = source
    if not mounts.get("/sip/config.yaml", "").endswith("deploy/livekit/sip.yaml"):
        problems.append(
            "deploy/livekit/sip.yaml is not mounted at /sip/config.yaml (the image's --config)"
        )
    tls = config.get("tls") or {}
    if tls.get("port") != 5061:
        problems.append(f"sip.yaml: tls.port is {tls.get('port')}, not 5061")
    if not tls.get("certs"):
        problems.append("sip.yaml: the tls block has no certs")
    for cert in tls.get("certs") or []:
        for path in (cert.get("cert_file", ""), cert.get("key_file", "")):
            if not mounts.get(path.rpartition("/")[0], "").endswith("deploy/livekit/tls"):
                problems.append(f"sip.yaml: {path} is not in the mounted deploy/livekit/tls")
    published = set()
    for port in sip.get("ports", []):
        if isinstance(port, dict):
            published.add(
                (int(port["published"]), int(port["target"]), port.get("protocol", "tcp"))
            )
    start, _, end = str(config.get("rtp_port", "")).partition("-")
    wanted = {(5060, 5060, "udp"), (5060, 5060, "tcp"), (5061, 5061, "tcp")} | {
        (n, n, "udp") for n in range(int(start), int(end or start) + 1)
    }
    if missing := sorted(wanted - published):
        problems.append(f"livekit-sip does not publish {missing[:5]} (sip.yaml's ports)")
    if len(wanted) - 3 > 1000:
        problems.append("the compose RTP range is too large for Docker's port publishing")
    cert = services.get("livekit-sip-tls", {})
    if sip.get("depends_on", {}).get("livekit-sip-tls", {}).get("condition") != (
        "service_completed_successfully"
    ):
        problems.append("livekit-sip does not wait for livekit-sip-tls (the dev certificate)")
    if cert.get("image") != image:
        problems.append("livekit-sip-tls does not use livekit-sip's image (its openssl)")
    ignore = DEPLOY / "livekit" / "tls" / ".gitignore"
    if not ignore.exists() or "*" not in ignore.read_text().split():
        problems.append("deploy/livekit/tls/ does not git-ignore the certificate and key")
    expect(problems)
    return f"{image}, TLS 5061, RTP {config.get('rtp_port')}"


def _env_items(svc: dict[str, Any]) -> list[tuple[str, Any]]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        return [(e.split("=", 1)[0], e.split("=", 1)[1] if "=" in e else None) for e in env]
    items = [(k, v) for k, v in env.items() if k != "<<"]
    merged = env.get("<<")
    if isinstance(merged, dict):
        items += [(k, v) for k, v in merged.items() if k != "<<"]
    return items


def check_nginx() -> str:
    """The gateway routes every public path, never /internal, and streams /events unbuffered."""
    text = (DEPLOY / "docker" / "nginx.conf").read_text()
    blocks = dict(re.findall(r"location\s+([^{]+?)\s*\{([^}]*)\}", text))
    problems: list[str] = []

    def block(pattern: str) -> str:
        for spec, body in blocks.items():
            if re.search(pattern, spec):
                return body
        problems.append(f"no location for {pattern}")
        return ""

    for path, (_, comp) in PUBLIC_ROUTES.items():
        if comp == "studio":
            continue
        body = block(
            re.escape(path.lstrip("/").split("/")[0])
            if path != "/telephony/outbound-call"
            else "outbound-call"
        )
        upstream = "numbers_api" if comp == "numbers-api" else "call_orchestrator"
        if f"proxy_pass http://{upstream}" not in body:
            problems.append(f"{path} is not proxied to {comp}")
    if "return 404" not in block("/internal"):
        problems.append("/internal is not refused")
    if "proxy_buffering off" not in block("events"):
        problems.append("/events is buffered")
    if "alias /usr/share/nginx/html/telephony/" not in text:
        problems.append("the Studio is not served from /telephony")
    variables = set(re.findall(r"\$\{([A-Z_]+)\}", text))
    filter_line = re.search(
        r'NGINX_ENVSUBST_FILTER="([^"]+)"', (DEPLOY / "docker" / "Dockerfile").read_text()
    )
    for var in variables:
        if not filter_line or var not in filter_line.group(1):
            problems.append(f"${{{var}}} is not substituted at start (NGINX_ENVSUBST_FILTER)")
    expect(problems)
    return f"{len(blocks)} locations"


def check_uv_images(cache: Path) -> str:
    """The Dockerfile's uv steps work: dependencies from manifests alone, then the package."""
    present = {t: d for t, d in PYTHON_TARGETS.items() if (ROOT / d / "pyproject.toml").exists()}
    if not present:
        raise SkipCheck("no workspace member yet")
    uv = shutil.which("uv")
    if uv is None:
        raise CheckFailed("uv is not installed")
    manifests = cache / "manifests"
    shutil.rmtree(manifests, ignore_errors=True)
    for path in [ROOT / "uv.lock", *ROOT.glob("pyproject.toml"), *ROOT.glob("*/*/pyproject.toml")]:
        if ".cache" in path.parts or "node_modules" in path.parts:
            continue
        dest = manifests / path.relative_to(ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    env.pop("VIRTUAL_ENV", None)
    problems: list[str] = []
    for target in present:
        env["UV_PROJECT_ENVIRONMENT"] = str(cache / "image-venvs" / target)
        base = [uv, "sync", "--locked", "--no-dev", "--package", target, "--quiet"]
        for cwd, extra in ((manifests, ["--no-install-workspace"]), (ROOT, ["--no-editable"])):
            result = subprocess.run(
                [*base, *extra], cwd=cwd, env=env, capture_output=True, text=True
            )
            if result.returncode != 0:
                problems.append(
                    f"{target}: `uv sync {' '.join(extra)}` failed: {result.stderr.strip()[-600:]}"
                )
                break
        else:
            script = cache / "image-venvs" / target / "bin" / target
            if not script.exists():
                problems.append(f"{target}: the image would have no `{target}` command")
    expect(problems)
    missing = sorted(set(PYTHON_TARGETS) - set(present))
    return f"built {', '.join(present)}" + (
        f"; not yet in the workspace: {', '.join(missing)}" if missing else ""
    )


def check_studio_build() -> str:
    """The Studio stage can run: a lock file for `npm install` and a build script."""
    package = ROOT / "services" / "studio" / "package.json"
    if not package.exists():
        raise SkipCheck("services/studio has not landed yet")
    problems = []
    if not (package.parent / "package-lock.json").exists():
        problems.append("services/studio has no package-lock.json (the image installs from it)")
    if "build" not in json.loads(package.read_text()).get("scripts", {}):
        problems.append("services/studio has no `build` script")
    expect(problems)
    return "npm install && npm run build"


# --- main -------------------------------------------------------------------------------------------


def main() -> int:
    """Run every check; exit status 1 when any failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEPLOY / ".cache" / "rendered")
    parser.add_argument("--kube-version", default=KUBE_VERSION)
    parser.add_argument("--skip-uv", action="store_true", help="skip the uv image-venv check")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.yaml"):
        old.unlink()
    report = Report()
    production = load_values(CHART / "values-production.example.yaml")
    variants: dict[str, dict[str, Any]] = {
        "default": {},
        "production": production,
        "minimal": {
            "agentRuntime": {"enabled": False},
            "studio": {"enabled": False},
            "ingress": {"enabled": False},
            "networkPolicy": {"enabled": False},
        },
        "hs256-servicemonitor": {
            "serviceMonitor": {"enabled": True},
            "secrets": {
                "generate": False,
                "fernetKeys": "a" * 43 + "=",
                "internalApiToken": "t" * 32,
                "jwtSecret": "j" * 40,
                "webhookSigningSecret": "w" * 40,
            },
            "livekit": {"apiKey": "key", "apiSecret": "s" * 40},
        },
        # The SIP service behind one LoadBalancer (not hostNetwork), with the development
        # certificate and a Redis password from a Secret.
        "sip-loadbalancer": {
            "livekit": {
                "apiKey": "key",
                "apiSecret": "s" * 40,
                "workerUrl": "wss://lk.example.com",
            },
            "sip": {
                "enabled": True,
                "replicaCount": 1,
                "hostNetwork": False,
                "natPublicIp": "203.0.113.10",
                "service": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["54.172.60.0/23"]},
                "tls": {"selfSigned": True, "selfSignedHosts": ["sip.example.com"]},
                "redis": {"passwordSecret": {"name": "livekit-redis", "key": "password"}},
                "rtpPortRange": {"start": 10000, "end": 10019},
            },
        },
    }

    print("Helm chart (helm-python-sdk " + helm.__version__ + f", Kubernetes {args.kube_version})")

    def lint(values: dict[str, Any]) -> Callable[[], str]:
        def run() -> str:
            result = helm.lint(
                str(CHART), values, strict=True, kube_version=f"v{args.kube_version}"
            )
            bad = [m for m in result["messages"] if m["severity"] >= 2] + [
                {"error": e} for e in result["errors"]
            ]
            expect([f"{m.get('path', '')}: {m['error']}" for m in bad])
            return f"{len(result['messages'])} info messages"

        return run

    report.run("helm lint --strict (default values)", lint({}))
    report.run("helm lint --strict (production example)", lint(production))

    rendered: dict[str, list[dict[str, Any]]] = {}

    def do_render(name: str, values: dict[str, Any]) -> Callable[[], str]:
        def run() -> str:
            docs = render(values)
            rendered[name] = docs
            (args.out / f"{name}.yaml").write_text(
                yaml.safe_dump_all([strip(d) for d in docs], sort_keys=False)
            )
            kinds: dict[str, int] = {}
            for d in docs:
                kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
            return ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))

        return run

    for name, values in variants.items():
        report.run(f"render {name} values", do_render(name, values))

    def validate() -> str:
        files = sorted(str(p) for p in args.out.glob("*.yaml"))
        if len(files) != len(variants):
            raise CheckFailed(f"{len(variants) - len(files)} value sets did not render")
        exe = Path(sys.executable).with_name("kubernetes-validate")
        result = subprocess.run(
            [str(exe), "--strict", "--quiet", "-k", args.kube_version, *files],
            capture_output=True,
            text=True,
        )
        lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
        unknown = [ln for ln in lines if ln.startswith("WARN") and "ServiceMonitor" not in ln]
        if result.returncode != 0 or unknown:
            raise CheckFailed("\n".join([*lines, result.stderr.strip()]).strip())
        monitors = [d for docs in rendered.values() for d in of_kind(docs, "ServiceMonitor")]
        for m in monitors:
            if not m["spec"]["endpoints"] or not m["spec"]["selector"]["matchLabels"]:
                raise CheckFailed(f"ServiceMonitor {m['metadata']['name']} selects nothing")
        return f"{len(files)} files; {len(monitors)} ServiceMonitors checked by hand (CRD)"

    report.run("kubernetes-validate --strict", validate)

    for name, docs in rendered.items():
        values = variants[name]
        report.run(
            f"[{name}] workloads: probes, resources, non-root, read-only",
            lambda d=docs: expect(check_workloads(d)),
        )
        report.run(
            f"[{name}] secrets: refs resolve, least privilege",
            lambda d=docs, v=values: expect(check_secrets(d, v)),
        )
        if name != "minimal":
            report.run(
                f"[{name}] ingress: public routes only", lambda d=docs: expect(check_routes(d))
            )
            report.run(
                f"[{name}] network policies",
                lambda d=docs, v=values: expect(check_network_policies(d, v)),
            )
        report.run(f"[{name}] HPAs, PDBs, Services", lambda d=docs: expect(check_scaling(d)))
        report.run(f"[{name}] services start with their env", lambda d=docs: check_settings(d))
        report.run(f"[{name}] migration hooks", lambda d=docs, v=values: expect(check_hooks(d, v)))
        if values.get("sip", {}).get("enabled"):
            report.run(
                f"[{name}] SIP service: TLS from a Secret, RTP range, reachable",
                lambda d=docs, v=values: expect(check_sip(d, v)),
            )
        if values.get("egress", {}).get("enabled"):
            report.run(
                f"[{name}] egress: pinned, no secret in its configuration",
                lambda d=docs, v=values: expect(check_egress(d, v)),
            )
        if name != "minimal":
            report.run(
                f"[{name}] recordings' backup storage shared by egress and call-orchestrator",
                lambda d=docs, v=values: expect(check_recording_backup(d, v)),
            )

    def production_rules() -> str:
        if "production" not in rendered:
            raise CheckFailed("the production values did not render")
        docs = rendered["production"]
        problems = []
        if of_kind(docs, "Secret"):
            problems.append("the production example makes the chart hold secrets")
        for d in of_kind(docs, "Deployment"):
            if component(d) in {"studio", "sip", "egress"}:  # nginx and LiveKit's: no DEV_MODE
                continue
            env = {e["name"]: e.get("value") for c in containers(d) for e in c.get("env", [])}
            if env.get("DEV_MODE") != "false":
                problems.append(f"{d['metadata']['name']}: DEV_MODE is not false")
        expect(problems)
        return "existingSecret, DEV_MODE=false"

    report.run("[production] no secrets in values, dev mode off", production_rules)

    def schema_rejects_typos() -> str:
        with helm.Chart.load(str(CHART)) as chart:
            for bad in ({"numbersApi": {"replicas": 3}}, {"config": {"logLevel": "LOUD"}}):
                try:
                    chart.validate_schema(bad)
                except helm.HelmValuesError:
                    continue
                raise CheckFailed(f"values.schema.json accepts {bad}")
        return "unknown keys and bad enums refused"

    report.run("values.schema.json", schema_rejects_typos)
    report.run("Secret values all come from values", lambda: check_secret_values({}))
    report.run("SIP settings that cannot work are refused", lambda: check_sip_refusals({}))

    print("Containers and compose")
    report.run("Dockerfile targets: non-root, HEALTHCHECK, uv --locked", check_dockerfile)
    report.run("docker-compose config -q (default and emulator profiles) + rules", check_compose)
    report.run(
        "compose SIP service: pinned, TLS 5061 from a mounted cert, RTP published",
        check_compose_sip,
    )
    report.run(
        "compose egress: pinned as the chart, config mounted, backup volume shared",
        check_compose_egress,
    )
    report.run("nginx gateway routes", check_nginx)
    report.run("Studio build inputs", check_studio_build)
    if not args.skip_uv:
        report.run(
            "image venvs: uv sync --locked --no-dev per target",
            lambda: check_uv_images(DEPLOY / ".cache"),
        )

    print(
        f"\ndeploy checks: {len(report.passed)} passed, {len(report.failed)} failed"
        + (f", {len(report.skipped)} skipped" if report.skipped else "")
    )
    for name in report.failed:
        print(f"  failed: {name}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
