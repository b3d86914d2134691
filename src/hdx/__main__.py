"""``python -m hdx ...`` is the ``hdx`` command."""

from hdx.cli.main import run

if __name__ == "__main__":
    run()
