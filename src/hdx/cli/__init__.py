"""Command-line interface (``hdx``): thin commands over typed functions."""
