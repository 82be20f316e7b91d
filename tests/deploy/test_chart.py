"""What the Helm chart renders: hardening, probes, migrations, secrets, traffic rules, options."""

from __future__ import annotations

import copy
from typing import Any

import helm_python as helm
import pytest
import yaml

from tests.deploy.rendering import NAMESPACE, Manifest, Rendered, render


def _pod(rendered: Rendered, kind: str = "Deployment") -> dict[str, Any]:
    spec: dict[str, Any] = rendered.one(kind)["spec"]["template"]["spec"]
    return spec


def _container(rendered: Rendered, kind: str = "Deployment") -> dict[str, Any]:
    container: dict[str, Any] = _pod(rendered, kind)["containers"][0]
    return container


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def _hook(manifest: Manifest) -> tuple[str, int]:
    annotations = manifest["metadata"]["annotations"]
    return annotations["helm.sh/hook"], int(annotations["helm.sh/hook-weight"])


def _is_hook(manifest: Manifest) -> bool:
    return "helm.sh/hook" in manifest["metadata"].get("annotations", {})


def test_default_deployment_runs_two_replicas_rolling_without_unavailable_pods(
    default_render: Rendered,
) -> None:
    spec = default_render.one("Deployment")["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_every_pod_is_hardened(default_render: Rendered, kind: str) -> None:
    pod = _pod(default_render, kind)
    context = _container(default_render, kind)["securityContext"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert isinstance(context["runAsUser"], int)
    assert context["runAsUser"] > 0
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_only_tmp_is_writable_and_it_is_an_empty_dir(default_render: Rendered, kind: str) -> None:
    volumes = {volume["name"]: volume for volume in _pod(default_render, kind)["volumes"]}
    mounts = _container(default_render, kind)["volumeMounts"]
    writable = [mount["mountPath"] for mount in mounts if not mount.get("readOnly")]
    assert writable == ["/tmp"]
    assert "emptyDir" in volumes["tmp"]


def test_liveness_uses_healthz_and_readiness_uses_readyz(default_render: Rendered) -> None:
    container = _container(default_render)
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_terminating_pod_pauses_before_shutdown_within_grace_period(
    default_render: Rendered,
) -> None:
    pause = _container(default_render)["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert 0 < pause < _pod(default_render)["terminationGracePeriodSeconds"]


def test_server_runs_serve_in_production_and_migration_job_runs_migrate(
    default_render: Rendered,
) -> None:
    server, job = _container(default_render), _container(default_render, "Job")
    assert server["command"] == ["ordergate", "serve"]
    assert job["command"] == ["ordergate", "migrate"]
    assert _env(server)["ORDERGATE_ENV"] == "production"
    assert _env(job)["ORDERGATE_ENV"] == "production"


def test_migration_job_runs_before_install_and_upgrade_after_its_secret(
    default_render: Rendered,
) -> None:
    job = default_render.one("Job")
    secret = default_render.one("Secret", component="migrations")
    reference = _env(_container(default_render, "Job"))["DATABASE_URL"]["secretKeyRef"]
    assert _hook(job)[0] == _hook(secret)[0] == "pre-install,pre-upgrade"
    assert _hook(secret)[1] < _hook(job)[1]
    assert reference["name"] == secret["metadata"]["name"]


def test_migration_pod_is_not_behind_the_service(default_render: Rendered) -> None:
    selector = default_render.one("Service", "server")["spec"]["selector"]
    job_labels = default_render.one("Job")["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= job_labels.items()


def test_service_selects_the_server_pods(default_render: Rendered) -> None:
    selector = default_render.one("Service", "server")["spec"]["selector"]
    pod_labels = default_render.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()


def test_policy_from_values_lands_in_the_mounted_file(full_render: Rendered) -> None:
    config_map = full_render.one("ConfigMap")
    policy = yaml.safe_load(config_map["data"]["policy.yaml"])
    mount = next(m for m in _container(full_render)["volumeMounts"] if m["name"] == "policy")
    assert policy["cancellation"]["mode"] == "review"
    assert _env(_container(full_render))["ORDERGATE_POLICY_FILE"] == (
        f"{mount['mountPath']}/policy.yaml"
    )


def test_policy_change_rolls_the_pods(
    chart: helm.Chart, all_features_values: dict[str, Any]
) -> None:
    changed = copy.deepcopy(all_features_values)
    changed["policy"]["cancellation"]["window_minutes"] = 30

    def checksum(values: dict[str, Any]) -> str:
        pod = render(chart, values).one("Deployment")["spec"]["template"]
        annotation: str = pod["metadata"]["annotations"]["checksum/policy"]
        return annotation

    assert checksum(all_features_values) != checksum(changed)


def test_credentials_come_from_the_chart_secret(full_render: Rendered) -> None:
    (secret,) = [
        item for item in full_render.manifests if item["kind"] == "Secret" and not _is_hook(item)
    ]
    env = _env(_container(full_render))
    assert set(secret["data"]) >= {"DATABASE_URL", "REDIS_URL", "SHOPIFY_CLIENT_SECRET"}
    assert env["DATABASE_URL"]["secretKeyRef"]["name"] == secret["metadata"]["name"]
    assert "optional" not in env["DATABASE_URL"]["secretKeyRef"]
    assert env["REDIS_URL"]["secretKeyRef"]["optional"] is True


def test_secret_key_and_smtp_url_come_from_the_chart_secret(full_render: Rendered) -> None:
    (secret,) = [
        item for item in full_render.manifests if item["kind"] == "Secret" and not _is_hook(item)
    ]
    env = _env(_container(full_render))
    assert set(secret["data"]) >= {"ORDERGATE_SECRET_KEY", "SMTP_URL"}
    for name in ("ORDERGATE_SECRET_KEY", "SMTP_URL"):
        assert env[name]["secretKeyRef"] == {
            "name": secret["metadata"]["name"],
            "key": name,
            "optional": True,
        }


def test_existing_secret_supplies_the_secret_key_and_smtp_url(
    chart: helm.Chart, all_features_values: dict[str, Any]
) -> None:
    values = copy.deepcopy(all_features_values)
    values["secrets"] = {"existingSecret": "ordergate-credentials"}
    env = _env(_container(render(chart, values)))
    assert env["ORDERGATE_SECRET_KEY"]["secretKeyRef"]["name"] == "ordergate-credentials"
    assert env["SMTP_URL"]["secretKeyRef"]["name"] == "ordergate-credentials"


def test_migration_job_gets_neither_the_secret_key_nor_smtp(full_render: Rendered) -> None:
    env = _env(_container(full_render, "Job"))
    assert "ORDERGATE_SECRET_KEY" not in env
    assert "SMTP_URL" not in env


def test_mail_sender_comes_from_values(full_render: Rendered) -> None:
    env = _env(_container(full_render))
    assert env["ORDERGATE_MAIL_FROM"] == "Demo Shop <orders@shop.example.com>"


def test_mail_sender_is_ordergates_default_when_unset(default_render: Rendered) -> None:
    assert "ORDERGATE_MAIL_FROM" not in _env(_container(default_render))


def test_existing_secret_replaces_the_chart_secrets(
    chart: helm.Chart, all_features_values: dict[str, Any]
) -> None:
    values = copy.deepcopy(all_features_values)
    values["secrets"] = {"existingSecret": "ordergate-credentials"}
    rendered = render(chart, values)
    server = _env(_container(rendered))["DATABASE_URL"]["secretKeyRef"]
    job = _env(_container(rendered, "Job"))["DATABASE_URL"]["secretKeyRef"]
    assert "Secret" not in rendered.kinds()
    assert server["name"] == job["name"] == "ordergate-credentials"


def test_no_secret_value_appears_in_plain_text(full_render: Rendered) -> None:
    readable = full_render.one("Deployment"), full_render.one("Job"), full_render.one("ConfigMap")
    assert "change-me" not in str(readable)


def test_network_policy_admits_only_the_gateway_and_extra_peers(full_render: Rendered) -> None:
    api, _ = full_render.one("NetworkPolicy")["spec"]["ingress"]
    gateway = api["from"][0]
    assert gateway["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "gateway-system"
    }
    assert gateway["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "envoy-gateway"}
    assert len(api["from"]) == 2
    assert api["ports"] == [{"port": "http", "protocol": "TCP"}]


def test_default_network_policy_admits_only_the_release_namespace(
    default_render: Rendered,
) -> None:
    (rule,) = default_render.one("NetworkPolicy")["spec"]["ingress"]
    (peer,) = rule["from"]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": NAMESPACE}
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]


def test_network_policy_admits_only_the_named_peers_to_metrics(full_render: Rendered) -> None:
    _, metrics = full_render.one("NetworkPolicy")["spec"]["ingress"]
    (peer,) = metrics["from"]
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
    assert metrics["ports"] == [{"port": "metrics", "protocol": "TCP"}]


def test_network_policy_allows_egress_only_to_dns_postgres_redis_smtp_and_https(
    default_render: Rendered,
) -> None:
    policy = default_render.one("NetworkPolicy")["spec"]
    ports = {port["port"] for rule in policy["egress"] for port in rule["ports"]}
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert ports == {53, 5432, 6379, 587, 443}


def _egress_to_port(rendered: Rendered, port: int) -> dict[str, Any]:
    rules: list[dict[str, Any]] = rendered.one("NetworkPolicy")["spec"]["egress"]
    (rule,) = [rule for rule in rules if {"port": port, "protocol": "TCP"} in rule["ports"]]
    return rule


def test_network_policy_lets_mail_out_to_the_smtp_relay_on_any_address_by_default(
    default_render: Rendered,
) -> None:
    rule = _egress_to_port(default_render, 587)
    assert rule["ports"] == [{"port": 587, "protocol": "TCP"}]
    assert "to" not in rule


def test_network_policy_narrows_smtp_egress_to_the_named_peers(full_render: Rendered) -> None:
    (peer,) = _egress_to_port(full_render, 587)["to"]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "mail"}
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "postfix"}


def test_network_policy_opens_the_smtp_port_given(
    chart: helm.Chart, all_features_values: dict[str, Any]
) -> None:
    values = copy.deepcopy(all_features_values)
    values["networkPolicy"]["smtp"]["port"] = 465
    values["secrets"]["smtpUrl"] = "smtps://ordergate:change-me@relay.mail.svc:465"
    rendered = render(chart, values)
    assert _egress_to_port(rendered, 465)["to"] == values["networkPolicy"]["smtp"]["to"]
    assert "WARNING" not in rendered.notes


def test_network_policy_covers_the_migration_pod(default_render: Rendered) -> None:
    selector = default_render.one("NetworkPolicy")["spec"]["podSelector"]["matchLabels"]
    job_labels = default_render.one("Job")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= job_labels.items()


def test_disruption_budget_keeps_a_pod_during_drains(default_render: Rendered) -> None:
    budget = default_render.one("PodDisruptionBudget")["spec"]
    assert budget["maxUnavailable"] == 1
    assert (
        budget["selector"]["matchLabels"]
        == default_render.one("Service", "server")["spec"]["selector"]
    )


def test_autoscaling_takes_over_the_replica_count(full_render: Rendered) -> None:
    autoscaler = full_render.one("HorizontalPodAutoscaler")["spec"]
    assert "replicas" not in full_render.one("Deployment")["spec"]
    assert autoscaler["scaleTargetRef"]["name"] == full_render.one("Deployment")["metadata"]["name"]


def test_optional_objects_are_off_by_default(default_render: Rendered) -> None:
    assert "HorizontalPodAutoscaler" not in default_render.kinds()
    assert "ServiceMonitor" not in default_render.kinds()


def test_service_monitor_scrapes_metrics_on_the_metrics_port(full_render: Rendered) -> None:
    monitor = full_render.one("ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    service_labels = full_render.one("Service", "metrics")["metadata"]["labels"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] == "metrics"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service_labels.items()
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_metrics_listen_on_their_own_port_never_the_public_one(full_render: Rendered) -> None:
    container = _container(full_render)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 8000, "metrics": 9464}
    assert _env(container)["ORDERGATE_PORT"] == "8000"
    assert _env(container)["ORDERGATE_METRICS_PORT"] == "9464"


def test_metrics_port_defaults_to_9090(default_render: Rendered) -> None:
    assert _env(_container(default_render))["ORDERGATE_METRICS_PORT"] == "9090"


def test_metrics_have_a_cluster_internal_service_apart_from_the_gateways(
    chart: helm.Chart, all_features_values: dict[str, Any]
) -> None:
    values = copy.deepcopy(all_features_values)
    values["service"] = {"type": "LoadBalancer"}
    rendered = render(chart, values)
    public, metrics = rendered.one("Service", "server"), rendered.one("Service", "metrics")
    assert [port["targetPort"] for port in public["spec"]["ports"]] == ["http"]
    assert metrics["spec"]["type"] == "ClusterIP"
    assert metrics["spec"]["ports"] == [
        {"port": 9464, "targetPort": "metrics", "protocol": "TCP", "name": "metrics"}
    ]
    assert metrics["spec"]["selector"] == public["spec"]["selector"]


def test_digest_pins_the_image(full_render: Rendered) -> None:
    image = _container(full_render)["image"]
    assert image == _container(full_render, "Job")["image"]
    assert "@sha256:" in image


def test_every_object_names_its_namespace(default_render: Rendered) -> None:
    assert {item["metadata"]["namespace"] for item in default_render.manifests} == {NAMESPACE}


def test_notes_warn_about_missing_shop_and_credentials(default_render: Rendered) -> None:
    assert "config.shopifyShop is empty" in default_render.notes
    assert "DATABASE_URL" in default_render.notes


def test_notes_warn_without_the_secret_key_and_smtp(default_render: Rendered) -> None:
    assert "WARNING: secrets.secretKey is empty" in default_render.notes
    assert "ORDERGATE_SECRET_KEY" in default_render.notes
    assert "WARNING: secrets.smtpUrl is empty" in default_render.notes
    assert "config.mailFrom is empty" in default_render.notes


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("smtps://ordergate:change-me@relay.mail.svc", "465"),
        ("smtp://ordergate:change-me@relay.mail.svc:25", "25"),
        ("smtp://ordergate:change-me@[2001:db8::25]:2525/", "2525"),
    ],
    ids=["smtps-default", "explicit", "ipv6"],
)
def test_notes_warn_when_the_smtp_port_is_not_the_one_let_out(
    chart: helm.Chart, all_features_values: dict[str, Any], url: str, port: str
) -> None:
    values = copy.deepcopy(all_features_values)
    values["secrets"]["smtpUrl"] = url
    notes = render(chart, values).notes
    assert f"secrets.smtpUrl names port {port}" in notes
    assert f"set networkPolicy.smtp.port={port}" in notes
    assert "change-me" not in notes


def test_notes_stay_quiet_when_configured(full_render: Rendered) -> None:
    assert "WARNING" not in full_render.notes
    assert "networkPolicy.metrics.from" not in full_render.notes


def test_notes_say_when_prometheus_is_not_admitted_to_metrics(
    chart: helm.Chart, all_features_values: dict[str, Any]
) -> None:
    values = copy.deepcopy(all_features_values)
    values["networkPolicy"]["metrics"]["from"] = []
    assert "networkPolicy.metrics.from admits no one" in render(chart, values).notes


@pytest.mark.parametrize(
    "values",
    [
        {"replicaCount": "two"},
        {"secrets": {"databaseURL": "postgresql://x"}},
        {"config": {"shopifyShop": "shop.example.com"}},
        {"policy": {"cancelation": {"mode": "review"}}},
        {"image": {"digest": "latest"}},
        {"metrics": {"port": 8000}},
        {"networkPolicy": {"metrics": {"form": []}}},
        {"secrets": {"secretKey": "too-short"}},
        {"secrets": {"smtpUrl": "http://relay.example:587"}},
        {"secrets": {"smtpUrl": "smtp://relay.example:submission"}},
        {"secrets": {"smtpURL": "smtp://relay.example:587"}},
        {"config": {"mailFrom": "orders"}},
        {"networkPolicy": {"smtp": {"port": 0}}},
        {"networkPolicy": {"smtp": {"prot": 465}}},
    ],
    ids=[
        "replicas-type",
        "secret-key-typo",
        "shop-domain",
        "policy-key-typo",
        "digest",
        "metrics-on-the-public-port",
        "metrics-peers-typo",
        "short-secret-key",
        "smtp-url-scheme",
        "smtp-url-port",
        "smtp-url-key-typo",
        "mail-from-without-address",
        "smtp-egress-port",
        "smtp-egress-typo",
    ],
)
def test_schema_rejects_bad_values(chart: helm.Chart, values: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmValuesError):
        chart.render(values, name="shop")


def test_policy_file_given_with_set_file_is_kept_verbatim(chart: helm.Chart) -> None:
    document = "cancellation:\n  mode: review\n  window_minutes: 15\n"
    config_map = render(chart, {"policy": document}).one("ConfigMap")
    assert config_map["data"]["policy.yaml"] == document


def test_the_webhook_secret_comes_from_the_chart_secret(full_render: Rendered) -> None:
    (secret,) = [
        item for item in full_render.manifests if item["kind"] == "Secret" and not _is_hook(item)
    ]
    env = _env(_container(full_render))
    assert "SHOPIFY_WEBHOOK_SECRET" in secret["data"]
    assert env["SHOPIFY_WEBHOOK_SECRET"]["secretKeyRef"]["key"] == "SHOPIFY_WEBHOOK_SECRET"
    assert env["SHOPIFY_WEBHOOK_SECRET"]["secretKeyRef"]["optional"] is True
