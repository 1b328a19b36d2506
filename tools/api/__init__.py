"""Ollama's HTTP API, and only that: the one `OllamaClient` (`client`), the models of Ollama's
answers and the typed callbacks (`types`), where Ollama runs (`host`: `OLLAMA_HOST` and its forms)
and Ollama's model-name grammar (`names`). Nothing outside this folder knows a URL path, a JSON
field of the wire format or an HTTP status; everything outside it gets pydantic models and the
errors of `tools.errors`.
"""
