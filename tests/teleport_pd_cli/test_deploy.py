"""deploy/: each file is `tpd render-config`'s output, and each is a sound deployment."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from teleport_pd_cli import __version__
from teleport_pd_cli.cli import cli
from teleport_pd_cli.config import parse_config
from teleport_pd_cli.config.render import SYSTEMD_USER, render, render_dockerfile, render_kubernetes

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

FILES = {
    "systemd": "systemd/teleport-pagerduty.service",
    "kubernetes": "kubernetes/teleport-pagerduty.yaml",
    "helm": "helm/teleport-pagerduty-values.yaml",
    "dockerfile": "Dockerfile",
    "grafana": "grafana/tpd-dashboard.json",
}


def manifest() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / FILES["kubernetes"]).read_text()) if doc]


def kind(name: str) -> dict[str, Any]:
    [found] = [doc for doc in manifest() if doc["kind"] == name]
    return found


def container() -> dict[str, Any]:
    [found] = kind("Deployment")["spec"]["template"]["spec"]["containers"]
    assert isinstance(found, dict)
    return found


def pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = kind("Deployment")["spec"]["template"]["spec"]
    return spec


# -- no drift ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "path"), FILES.items())
def test_each_deploy_file_is_the_current_rendering(fmt: str, path: str) -> None:
    assert (DEPLOY / path).read_text() == render(fmt), (
        f"deploy/{path} is stale: run `tpd render-config --format {fmt} -o deploy/{path} --force`"
    )


@pytest.mark.parametrize("fmt", ["kubernetes", "dockerfile", "grafana"])
def test_render_config_prints_the_new_formats(fmt: str) -> None:
    result = CliRunner().invoke(cli, ["render-config", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.output == (DEPLOY / FILES[fmt]).read_text()


def test_deploy_readme_lists_every_rendered_file() -> None:
    readme = (DEPLOY / "README.md").read_text()
    for fmt, path in FILES.items():
        assert f"`{path}`" in readme
        assert f"--format {fmt}" in readme


# -- Kubernetes --------------------------------------------------------------------------------


def test_the_manifest_is_valid_yaml_with_the_expected_objects() -> None:
    assert [doc["kind"] for doc in manifest()] == [
        "ConfigMap",
        "ServiceAccount",
        "Deployment",
        "PodDisruptionBudget",
    ]
    for doc in manifest():
        assert set(doc) >= {"apiVersion", "kind", "metadata"}
        assert doc["metadata"]["namespace"] == "teleport"


def test_two_replicas_run_and_a_rollout_never_drops_below_two() -> None:
    spec = kind("Deployment")["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert kind("PodDisruptionBudget")["spec"]["minAvailable"] == 1


def test_selectors_match_the_pod_labels() -> None:
    labels = kind("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert kind("Deployment")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert kind("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_the_configmap_holds_a_config_tpd_accepts_with_the_key_from_the_environment() -> None:
    text = kind("ConfigMap")["data"]["teleport-pagerduty.toml"]
    config, warnings = parse_config(text, environ={"TPD_PAGERDUTY_API_KEY": "u+Xa7sFkq9PZ3vYdG"})
    assert warnings == []
    assert config.teleport.refresh_identity is True
    assert config.metrics.enabled
    assert config.log.output == "stdout"


def test_the_config_is_mounted_where_the_container_reads_it() -> None:
    args = container()["args"]
    assert args[:2] == ["run", "-c"]
    mount = next(m for m in container()["volumeMounts"] if m["name"] == "config")
    assert args[2] == f"{mount['mountPath']}/teleport-pagerduty.toml"
    volume = next(v for v in pod_spec()["volumes"] if v["name"] == "config")
    assert volume["configMap"]["name"] == kind("ConfigMap")["metadata"]["name"]


def test_the_identity_comes_from_tbots_secret_without_subpath_so_renewals_arrive() -> None:
    volume = next(v for v in pod_spec()["volumes"] if v["name"] == "identity")
    assert volume["secret"]["secretName"] == "teleport-plugin-pagerduty-identity"
    assert volume["secret"]["defaultMode"] == 0o440
    mount = next(m for m in container()["volumeMounts"] if m["name"] == "identity")
    assert "subPath" not in mount
    assert mount["readOnly"] is True
    config, _ = parse_config(
        kind("ConfigMap")["data"]["teleport-pagerduty.toml"], environ={"TPD_PAGERDUTY_API_KEY": "k"}
    )
    # tbot's identity output writes the key "identity".
    assert str(config.teleport.identity) == f"{mount['mountPath']}/identity"


def test_the_api_key_comes_from_a_secret_through_the_environment() -> None:
    [env] = container()["env"]
    assert env["name"] == "TPD_PAGERDUTY_API_KEY"
    assert env["valueFrom"]["secretKeyRef"] == {
        "name": "teleport-pagerduty-api-key",
        "key": "api-key",
    }


def test_probes_and_scraping_use_the_metrics_listener_of_the_config() -> None:
    config, _ = parse_config(
        kind("ConfigMap")["data"]["teleport-pagerduty.toml"], environ={"TPD_PAGERDUTY_API_KEY": "k"}
    )
    [port] = container()["ports"]
    assert port == {"name": "metrics", "containerPort": config.metrics.port, "protocol": "TCP"}
    assert config.metrics.host == ""  # every interface: the kubelet probes the pod's IP
    assert container()["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container()["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    annotations = kind("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(config.metrics.port)


def test_the_pod_runs_as_non_root_with_a_read_only_root_and_no_capabilities() -> None:
    pod = pod_spec()["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] != 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container()["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert pod_spec()["automountServiceAccountToken"] is False


def test_the_container_has_requests_and_a_memory_limit() -> None:
    resources = container()["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert resources["limits"]["memory"] == "256Mi"


def test_termination_leaves_time_for_the_shutdown_grace() -> None:
    assert pod_spec()["terminationGracePeriodSeconds"] >= 15


def test_the_image_defaults_to_this_version_and_can_be_chosen() -> None:
    assert container()["image"] == f"tpd:{__version__}"
    assert "image: registry.example.com/tpd:1.2" in render_kubernetes(
        image="registry.example.com/tpd:1.2"
    )


# -- Dockerfile --------------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in (raw.strip() for raw in joined.splitlines())
        if line and not line.startswith("#")
    ]


def test_the_image_is_python_3_11_slim_and_runs_tpd_run_as_non_root() -> None:
    instructions = dockerfile_instructions(render_dockerfile())
    froms = [value for name, value in instructions if name == "FROM"]
    assert all(value.startswith("python:3.11-slim") for value in froms)
    [user] = [value for name, value in instructions if name == "USER"]
    assert user.split(":")[0] not in ("0", "root")
    assert ("ENTRYPOINT", '["tpd"]') in instructions
    assert instructions[-1] == ("CMD", '["run"]')


def test_everything_the_dockerfile_copies_from_the_context_exists_and_is_not_ignored() -> None:
    instructions = dockerfile_instructions(render_dockerfile())
    sources = [
        source
        for name, value in instructions
        if name == "COPY" and not value.startswith("--from")
        for source in value.split()[:-1]
    ]
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text()
    for source in sources:
        assert (ROOT / source).exists(), source
        assert f"!{source.rstrip('/')}" in ignore.replace("/\n", "\n"), source


def test_the_image_installs_every_package_the_project_declares() -> None:
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = declared["packages"]["find"]["include"]
    copied = {
        value.split()[0]
        for name, value in dockerfile_instructions(render_dockerfile())
        if name == "COPY" and not value.startswith("--from")
    }
    for pattern in patterns:
        assert pattern.rstrip("*") in copied


# -- systemd -----------------------------------------------------------------------------------


def test_the_unit_runs_as_a_dedicated_user_with_the_config_read_only() -> None:
    unit = (DEPLOY / FILES["systemd"]).read_text()
    assert f"\nUser={SYSTEMD_USER}\n" in unit
    assert f"\nGroup={SYSTEMD_USER}\n" in unit
    assert "\nReadOnlyPaths=/etc/teleport-pagerduty.toml\n" in unit
    assert "\nExecStart=/usr/local/bin/tpd run -c /etc/teleport-pagerduty.toml\n" in unit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_analyze_accepts_the_unit_with_its_hardening(tmp_path: Path) -> None:
    unit = tmp_path / "teleport-pagerduty.service"
    text = (DEPLOY / FILES["systemd"]).read_text()
    unit.write_text(text.replace("/usr/local/bin/tpd", "/bin/true"))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert [line for line in result.stderr.splitlines() if str(unit) in line] == []
