"""Shared pytest configuration: the Ollama test double fixture (`ollama_double`)."""

pytest_plugins = ["tests.ollama_double.pytest_plugin"]
