"""The chart passes Helm's lint, Kubernetes' own schemas (strict) and checkov's scan, offline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.deploy.rendering import CHART_DIR, Rendered

# kubernetes-validate ships schemas for built-in kinds only; a CRD's object is checked by the
# chart tests instead (test_service_monitor_scrapes_metrics_on_the_metrics_port).
CUSTOM_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}

# Every checkov finding on the rendered chart, with the reason it stays. The scan must report
# exactly these: a new finding fails, and so does a justification that no longer applies.
JUSTIFIED_FINDINGS = {
    ("default", "CKV_K8S_43", "Deployment"): (
        "image digest: the chart cannot know the digest of an image built after it; "
        "image.digest pins it (the all-features render passes)"
    ),
    ("default", "CKV_K8S_43", "Job"): "image digest: as for the Deployment",
    ("default", "CKV_K8S_15", "Deployment"): (
        "pull policy Always: IfNotPresent is exact for immutable release tags and digests, and "
        "keeps pods restartable while the registry is down; a digest satisfies the check"
    ),
    ("default", "CKV_K8S_15", "Job"): "pull policy Always: as for the Deployment",
    ("default", "CKV_K8S_35", "Deployment"): (
        "secrets as environment variables: ordergate's configuration is its environment "
        "(CONTRACT §2); values come from secretKeyRef, never from plain values"
    ),
    ("default", "CKV_K8S_35", "Job"): "secrets as environment variables: as for the Deployment",
    ("all-features", "CKV_K8S_35", "Deployment"): "secrets as environment variables: as above",
    ("all-features", "CKV_K8S_35", "Job"): "secrets as environment variables: as above",
}


def _rendered(request: pytest.FixtureRequest, name: str) -> Rendered:
    rendered: Rendered = request.getfixturevalue(name)
    return rendered


@pytest.mark.parametrize("rendering", ["default_render", "full_render"])
def test_every_manifest_validates_strictly_against_current_kubernetes(
    request: pytest.FixtureRequest, rendering: str
) -> None:
    version = kubernetes_validate.latest_version()
    for manifest in _rendered(request, rendering).manifests:
        if (manifest["apiVersion"], manifest["kind"]) in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            pytest.fail(f"{manifest['kind']} {path}: {error.message} (Kubernetes {version})")


def test_validator_knows_every_kind_the_chart_renders(full_render: Rendered) -> None:
    version = kubernetes_validate.latest_version()
    unknown = []
    for manifest in full_render.manifests:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unknown.append((manifest["apiVersion"], manifest["kind"]))
    assert set(unknown) == CUSTOM_KINDS


@pytest.mark.parametrize("values", [None, "all_features_values"], ids=["default", "all-features"])
def test_helm_lint_strict_finds_no_warning(request: pytest.FixtureRequest, values: Any) -> None:
    chosen = request.getfixturevalue(values) if values else None
    report = helm.lint(CHART_DIR, chosen, strict=True)
    problems = [message for message in report["messages"] if message["severity"] >= 2]
    assert report["errors"] == []
    assert problems == []


def _checkov_findings(checkov: Path, directory: Path) -> set[tuple[str, str, str]]:
    completed = subprocess.run(
        [
            str(checkov),
            "--directory",
            str(directory),
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--skip-download",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no report (exit {completed.returncode}): {completed.stderr}")
    reports = report if isinstance(report, list) else [report]
    return {
        (Path(check["file_path"]).stem, check["check_id"], check["resource"].split(".")[0])
        for each in reports
        for check in each.get("results", {}).get("failed_checks", [])
    }


def test_checkov_reports_only_justified_findings(
    checkov: Path, default_render: Rendered, full_render: Rendered, tmp_path: Path
) -> None:
    (tmp_path / "default.yaml").write_text(default_render.yaml_stream(), encoding="utf-8")
    (tmp_path / "all-features.yaml").write_text(full_render.yaml_stream(), encoding="utf-8")
    assert _checkov_findings(checkov, tmp_path) == set(JUSTIFIED_FINDINGS)
