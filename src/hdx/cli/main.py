"""Entry point of the ``hdx`` command.

Each subcommand lives in its own module under :mod:`hdx.cli` and registers itself on :data:`app`.
User errors (:class:`~hdx.errors.HDXError`) print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import sys

import typer

try:  # newer typer vendors click and raises its own Exit/Abort (even when click is installed, e.g. by ray)
    from typer._click.exceptions import ClickException
    from typer.exceptions import Abort, Exit
except ModuleNotFoundError:  # typer < 0.20 depends on click
    from click.exceptions import Abort, ClickException, Exit

from hdx.errors import HDXError, Interrupted
from hdx.version import __version__

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="HDX: co-design a neural network and its accelerator under hard budgets.")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"hdx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """HDX: co-design a neural network and its accelerator under hard budgets."""


def _register() -> None:
    """Import the command modules (each adds its commands to ``app``)."""
    import importlib

    for mod in ("cost", "train", "search", "evaluator", "report", "export", "sweep", "tabulate", "table",
                "data"):
        importlib.import_module(f"hdx.cli.{mod}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 user error, 130 interrupted)."""
    _register()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] in (["cost", "tabulate"], ["cost", "table"]):  # hdx.cli.tabulate / .table; `hdx cost` as is
        argv = [f"cost-{argv[1]}", *argv[2:]]
    try:
        rc = app(args=argv, standalone_mode=False)  # an Exit(code) raised by a command comes back here
    except Interrupted as e:
        print(f"interrupted: {e}", file=sys.stderr)
        return 130
    except HDXError as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)  # always one line
        return 2
    except Exit as e:
        return e.exit_code
    except Abort:
        print("aborted", file=sys.stderr)
        return 130
    except ClickException as e:
        e.show()
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # safety net: file errors are HDXErrors where they happen (hdx.safeio.os_errors)
        where = f" {e.filename}" if e.filename else ""
        print(f"error: cannot access{where}: {e.strerror or type(e).__name__}", file=sys.stderr)
        return 2
    return rc if isinstance(rc, int) else 0


def run() -> None:
    """Console-script entry: exit with :func:`main`'s code."""
    sys.exit(main())

