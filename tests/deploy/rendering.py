"""The Helm chart rendered offline by Helm's own Go code (helm-python-sdk, no helm binary)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "helm" / "ordergate"
ALL_FEATURES_VALUES = CHART_DIR / "ci" / "all-features-values.yaml"
RELEASE = "shop"
NAMESPACE = "storefront"

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """One rendering of the chart: its Kubernetes objects and its NOTES.txt."""

    manifests: list[Manifest]
    notes: str
    texts: dict[str, str]

    def one(self, kind: str, component: str | None = None) -> Manifest:
        """The single object of `kind` (with that component label, when given)."""
        found = [
            item
            for item in self.manifests
            if item["kind"] == kind
            and component in (None, item["metadata"].get("labels", {}).get(_COMPONENT))
        ]
        assert len(found) == 1, f"expected one {kind} ({component}), found {len(found)}"
        return found[0]

    def kinds(self) -> list[str]:
        """The kinds rendered, in template order."""
        return [item["kind"] for item in self.manifests]

    def yaml_stream(self) -> str:
        """Every object as one multi-document YAML stream, as `helm template` prints it."""
        return yaml.safe_dump_all(self.manifests, sort_keys=False)


_COMPONENT = "app.kubernetes.io/component"


def load_values(path: Path) -> dict[str, Any]:
    """A values file as Helm reads it."""
    values: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return values


def render(chart: helm.Chart, values: dict[str, Any] | None = None) -> Rendered:
    """Render as a first install of release `shop` in namespace `storefront` would."""
    texts = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    manifests: list[Manifest] = []
    for path, text in sorted(texts.items()):
        if path.endswith(".yaml"):
            manifests += [doc for doc in yaml.safe_load_all(text) if doc]
    notes = next((text for path, text in texts.items() if path.endswith("NOTES.txt")), "")
    return Rendered(manifests=manifests, notes=notes, texts=texts)
