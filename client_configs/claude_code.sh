claude mcp add ollama --transport stdio --scope user --env OLLAMA_HOST=http://127.0.0.1:11434 -- ollama-mcp
