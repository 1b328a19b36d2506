"""One module per toolset: plain async functions and their output models."""
