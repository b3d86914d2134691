"""The version of HDX (one place; ``hdx --version`` and every ``final.json`` print it)."""

__version__ = "0.1.0"
