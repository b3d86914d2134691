"""The hdx entry point: version, help, unknown commands."""

from __future__ import annotations

from hdx import __version__
from hdx.cli.main import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hdx {__version__}"


def test_unknown_command_is_usage_error(capsys):
    assert main(["frobnicate"]) == 2
    assert "frobnicate" in capsys.readouterr().err


def test_every_command_has_help(capsys):
    for cmd in (["cost"], ["train"], ["search"], ["evaluator", "build"], ["evaluator", "check"]):
        assert main([*cmd, "--help"]) == 0
        assert "Usage" in capsys.readouterr().out
