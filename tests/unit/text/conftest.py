import pytest


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Text-encoder tests never reach the Hugging Face Hub."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
