"""deploy/compose.yaml: agent, mosquitto and PostgreSQL; no secret in the file; the agent's
environment overrides turn the example config into one that points at the other two services."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import load_config

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
SECRETS = {"POSTGRES_PASSWORD": "pg-pass-for-test", "FACILITY_SESSION_SECRET": "s" * 64}


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME:?message} and ${NAME}, enough for this file."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise KeyError(f"compose would refuse to start without {name}: {match.group(0)}")
        return env[name]

    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)(?::\?[^}]*)?\}", one, value)


def test_the_three_services_are_there() -> None:
    services = _compose()["services"]
    assert set(services) == {"agent", "mosquitto", "postgres"}
    assert services["agent"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["agent"]
    assert "ports" not in services["postgres"], "PostgreSQL should not be published on the host"
    assert services["agent"]["ports"] == ["127.0.0.1:8080:8080"], (
        "the pages go through a TLS proxy, not straight out"
    )
    assert "./mosquitto:/mosquitto/config:ro" in services["mosquitto"]["volumes"]
    assert (DEPLOY / services["agent"]["build"]["dockerfile"].removeprefix("deploy/")).exists()


def test_no_secret_is_written_in_the_compose_file() -> None:
    for name, service in _compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("PASSWORD", "SECRET", "DATABASE_URL")) and not key.endswith(
                ("_FILE", "__PASSWORD_FILE", "_ENV")
            ):
                assert "${" in str(value), f"{name}.{key} must come from .env, not be written in compose.yaml"


def test_secrets_the_compose_file_expects_are_git_ignored() -> None:
    ignored = (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()
    for path in (".env", "facility.yaml", "mqtt-password", "mosquitto/passwd"):
        assert path in ignored


def test_the_agent_environment_turns_the_example_into_a_compose_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = _compose()["services"]["agent"]
    for name in [n for n in os.environ if n.startswith("FACILITY_")]:
        monkeypatch.delenv(name)
    for key, value in agent["environment"].items():
        monkeypatch.setenv(key, _interpolate(str(value), SECRETS))
    config_file = tmp_path / "facility.yaml"
    shutil.copy(DEPLOY / "facility.example.yaml", config_file)
    config = load_config(config_file)
    assert config.database_url() == "postgresql://facility:pg-pass-for-test@postgres:5432/facility"
    assert str(config.data_dir()) == "/var/lib/facility-agent"
    assert config.api.host == "0.0.0.0" and config.api.port == 8080
    assert config.logging.format == "json"
    assert config.mqtt is not None
    assert config.mqtt["url"] == "mqtt://mosquitto:1883"
    assert config.mqtt["password_file"] == "/run/secrets/mqtt-password"


def _docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(not _docker_compose_available(), reason="docker compose is not installed here")
def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet", "--no-interpolate"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **SECRETS},
        cwd=DEPLOY,
    )
    assert result.returncode == 0, result.stderr
