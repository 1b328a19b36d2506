"""The file names of a LoRA adapter on disk, as PEFT, MLX-LM and Ollama's folder rules know them."""

from __future__ import annotations

from typing import Final

ADAPTER_CONFIG_NAME: Final = "adapter_config.json"
PEFT_WEIGHTS_NAME: Final = "adapter_model.safetensors"  # PEFT's save_pretrained
MLX_WEIGHTS_NAME: Final = "adapters.safetensors"  # MLX-LM
PICKLE_WEIGHTS_NAME: Final = "adapter_model.bin"  # PyTorch pickle: Ollama cannot read it
