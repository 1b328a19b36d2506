"""Builds the MCP server: one process-wide lifespan, and the one place that registers tools."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from server.settings import Settings

SERVER_NAME = "ollama-connector-mcp"
INSTRUCTIONS = (
    "Tools and resources for a local Ollama: browse installed models, read their metadata, "
    "build Modelfiles, package LoRA adapters, pull and push models, and run local inference."
)


def build_server(settings: Settings) -> MCPServer:
    """Return the configured MCP server; registration of each tool lives in `server.registry`."""
    return MCPServer(
        SERVER_NAME,
        version="0.1.0",
        instructions=INSTRUCTIONS,
        log_level=settings.log_level,
    )
