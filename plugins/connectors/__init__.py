"""Compatibility package: the import path the seed document uses (PEFT Studio's layout)."""
