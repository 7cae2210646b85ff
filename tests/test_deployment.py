"""compose.yaml wires the team deployment the README describes (no Docker engine runs in the tests)."""

import yaml

from coach.settings import REPO_DIR


def test_compose_wires_replicas_postgres_chroma_and_a_model_server():
    compose = yaml.safe_load((REPO_DIR / "compose.yaml").read_text())
    services = compose["services"]
    assert {"app-1", "app-2", "proxy", "postgres", "chroma", "vllm"} <= set(services)
    app = services["app-1"]
    env = app["environment"]
    assert env["COACH_AUTH"] == "password" and env["COACH_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["CHROMA_HOST"] == "chroma" and env["COACH_BACKEND"] == "openai"
    assert env["COACH_BASE_URL"] == "http://vllm:8000/v1"
    assert "coach db upgrade" in app["command"] and "--server.address 0.0.0.0" in app["command"]
    assert "chroma run" in services["chroma"]["command"] and "--model" in services["vllm"]["command"]
    assert "ip_hash" in compose["configs"]["upward_proxy"]["content"]  # sticky: Streamlit keeps a websocket
