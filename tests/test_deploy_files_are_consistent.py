"""No Docker engine runs here: check what can be checked of the image and compose files."""

from __future__ import annotations

import json
import re
import shlex

import pytest
import yaml

from tests.conftest import ROOT


def _dockerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    steps = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            steps.append((instruction.upper(), rest.strip()))
    return steps


def test_the_image_is_slim_python_and_runs_as_a_non_root_user():
    steps = _dockerfile()
    assert re.fullmatch(r"python:3\.1[1-9]-slim", dict(steps)["FROM"])
    users = [rest for instruction, rest in steps if instruction == "USER"]
    assert users and users[-1] not in {"root", "0"}


def test_every_file_the_image_copies_exists():
    for instruction, rest in _dockerfile():
        if instruction == "COPY":
            *sources, _dest = shlex.split(rest)
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


def test_the_image_migrates_then_serves_with_the_command_the_readme_documents():
    cmd = dict(_dockerfile())["CMD"]
    command = " ".join(json.loads(cmd)[-1].split())
    assert command == "python manage.py serve --host 0.0.0.0 --port ${PORT}"
    readme = (ROOT / "README.md").read_text()
    assert "python manage.py serve --host 0.0.0.0 --port" in readme
    serve = (ROOT / "supportsite/management/commands/serve.py").read_text()
    assert 'call_command("migrate"' in serve and "daphne" in serve
    # The image's Daphne is the one that answers over-long requests with 414 / 431.
    assert "from supportsite.http_server import CommandLineInterface" in serve
    assert '"-m", "supportsite.http_server", "--fd"' in serve


def test_compose_runs_the_app_pgvector_17_and_prometheus():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"app", "db", "prometheus"}
    assert services["app"]["build"] == "."
    assert services["db"]["image"] == "pgvector/pgvector:pg17"
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"
    volume = services["db"]["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]
    assert services["app"]["environment"]["DATABASE_URL"].startswith("postgresql://")
    subnet = compose["networks"]["supportsite"]["ipam"]["config"][0]["subnet"]
    assert subnet in services["app"]["environment"]["METRICS_ALLOWED_NETWORKS"], "Prometheus may scrape"
    for mount in services["prometheus"]["volumes"]:
        source = mount.split(":")[0]
        assert (ROOT / source).exists(), f"compose mounts missing {source}"


def test_prometheus_scrapes_every_app_replica_found_through_dns():
    config = yaml.safe_load((ROOT / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    job = jobs["supportsite"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert "static_configs" not in job, "a static target would scrape one replica at random"
    [discovery] = job["dns_sd_configs"]
    assert discovery["names"] == ["app"] and discovery["type"] == "A" and discovery["port"] == 8000


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_several_app_replicas_sharing_redis_behind_one_proxy_port():
    services = _compose()["services"]
    app = services["app"]
    assert app["deploy"]["replicas"] == "${APP_REPLICAS:-2}"
    assert "ports" not in app, "replicas cannot all publish one host port: the proxy does"
    assert app["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert app["environment"]["TRUSTED_PROXY_COUNT"] == "1", "rate limits count the client, not the proxy"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["redis"]["image"].startswith("redis:7")
    assert "ping" in " ".join(services["redis"]["healthcheck"]["test"])
    # One migration run before the replicas start, not one per replica racing the others.
    assert services["migrate"]["command"][-3:] == ["manage.py", "migrate", "--no-input"]
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app["command"][:3] == ["python", "manage.py", "serve"] and "--no-migrate" in app["command"]
    assert services["migrate"]["environment"]["DATABASE_URL"] == app["environment"]["DATABASE_URL"]
    proxy = services["proxy"]
    assert proxy["ports"] == ["${PORT:-8000}:8080"]
    for mount in proxy["volumes"]:
        assert (ROOT / mount.split(":")[0]).exists(), f"compose mounts missing {mount}"


def test_the_proxy_forwards_websockets_and_client_addresses_and_refuses_metrics():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "listen 8080;" in conf
    assert re.search(r"set \$app http://app:8000;\s*proxy_pass \$app;", conf), "re-resolved per request"
    assert "resolver 127.0.0.11" in conf
    for header in (
        "Upgrade $http_upgrade",
        "Connection $connection_upgrade",
        "X-Forwarded-For $proxy_add_x_forwarded_for",
    ):
        assert f"proxy_set_header {header};" in conf
    assert re.search(r"location = /metrics \{\s*return 403;", conf), "the proxy's address is in the metrics network"


@pytest.mark.django_db(transaction=True)
def test_the_grafana_dashboard_only_charts_series_the_app_exports():
    import re

    from django.test import Client

    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for topic in ("latency", "answer rate", "pool", "errors"):
        assert topic in titles
    Client().post("/api/ai_faq_search", data='{"query": "hello there"}', content_type="application/json")
    exported = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    # Series names: identifiers with an underscore, once label sets and "by (...)" are removed.
    bare = [re.sub(r"by \([^)]*\)|\{[^}]*\}", "", expr) for expr in exprs]
    names = {name for expr in bare for name in re.findall(r"\b([a-z][a-z0-9]*_[a-z0-9_]+)\b", expr)} - {
        "histogram_quantile"
    }
    assert "database_pool_size" in names and "ai_answers_total" in names
    for name in names:
        family = re.sub(r"_(bucket|count|sum)$", "", name)
        assert f"# TYPE {family} " in exported or f"# TYPE {name} " in exported, name
