"""``hdx data fetch``: download, verify and unpack a data set (:mod:`hdx.data.fetch`).

Examples::

    hdx data fetch cifar10                                    # into $HDX_DATA, else ~/.cache/hdx
    hdx data fetch cifar10 --dir data/                        # into data/cifar-10-batches-py
    hdx data fetch cifar10 --url http://mirror/cifar-10-python.tar.gz --md5 c58f30108f718f92721af3b95e74349a

Run it again after an interruption: the download resumes where it stopped.
"""

from __future__ import annotations

import typer

from hdx.cli.main import app

data_app = typer.Typer(no_args_is_help=True, help="Download and check data sets (CIFAR-10).")
app.add_typer(data_app, name="data")


@data_app.command("fetch")
def fetch_cmd(
    name: str = typer.Argument(..., help="Data set: cifar10."),
    dir: str = typer.Option(None, "--dir", help="Folder to put it in (default: $HDX_DATA if set, else the "
                            "user cache ~/.cache/hdx or $XDG_CACHE_HOME/hdx)."),
    url: str = typer.Option(None, "--url", help="A mirror of the archive (http, https or file URL); needs "
                            "--md5."),
    md5: str = typer.Option(None, "--md5", help="The md5 of the mirror's archive (32 hex digits)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Download the archive, verify its md5, unpack it atomically; print the data folder."""
    from hdx.data.fetch import fetch

    folder = fetch(name, dir=dir, url=url, md5=md5, progress=not quiet)
    typer.echo(str(folder))
