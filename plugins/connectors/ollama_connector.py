"""`from plugins.connectors.ollama_connector import OllamaConnector`, as the seed writes it."""

from tools.connector import ModelInfo, ModelMetadata, ModelRef, OllamaConnector

__all__ = ["ModelInfo", "ModelMetadata", "ModelRef", "OllamaConnector"]
