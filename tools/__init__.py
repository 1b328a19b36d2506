"""The Ollama connector: plain async Python that talks to Ollama. It never imports `mcp`."""
