"""Builds the MCP server. The list of its tools is to live in one place (`server.registry`)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from server.settings import Settings
from tools.version import VERSION

SERVER_NAME = "ollama-connector-mcp"
INSTRUCTIONS = (
    "Tools and resources for a local Ollama: browse installed models, read their metadata, "
    "build Modelfiles, package LoRA adapters, pull and push models, and run local inference."
)


def build_server(settings: Settings) -> MCPServer:
    """Return the configured MCP server, reporting the installed distribution's version."""
    return MCPServer(
        SERVER_NAME,
        version=VERSION,
        instructions=INSTRUCTIONS,
        log_level=settings.log_level,
    )
