"""Click wiring only: each command parses its options and calls a plain function in runner.commands.

Command modules are imported inside the command functions so that `arun --help` and `arun validate`
never pay for (or depend on) the `openai` import.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from runner import __version__
from runner.errors import RunnerError

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_INTERNAL_ERROR = 3
EXIT_INTERRUPTED = 130


class Context:
    """What the top-level options decide, handed to every command."""

    def __init__(self, root: Path, debug: bool) -> None:
        self.root = root
        self.debug = debug


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="arun")
@click.option(
    "-C",
    "--directory",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=".",
    show_default=True,
    help="Project root: the folder holding assistants/, scenarios/ and transcripts/.",
)
@click.option("--debug", is_flag=True, help="Show the traceback of unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, directory: Path, debug: bool) -> None:
    """Assistants as code: validate, plan and apply assistants, replay scenarios, diff transcripts.

    \b
    Example:
      arun validate
      arun -C path/to/project validate assistants/math-tutor.yaml
    """
    ctx.obj = Context(root=directory.resolve(), debug=debug)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def validate(obj: Context, paths: tuple[Path, ...], as_json: bool) -> int:
    """Check assistants and scenarios against their schemas and each other.

    Reads no network and needs no API key. PATHS are files or folders inside the project (default:
    assistants/ and scenarios/). Every problem is printed as path:line:col: where: message.
    Exits 0 when everything is valid, 1 otherwise.

    \b
    Example:
      arun validate
      arun validate scenarios/math-tutor/ --json
    """
    from runner.commands.validate import run_validate

    return run_validate(obj.root, list(paths), as_json=as_json)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", type=int, default=8787, show_default=True, help="Port to listen on (0: any free port)."
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=".arun/local.db",
    show_default=True,
    help="SQLite file that keeps all state (relative to the project root).",
)
@click.option("--api-key", help="Key clients must send (default: OPENAI_API_KEY, else one is generated).")
@click.option("--latency", type=float, default=0.0, help="Seconds of delay added to every request.")
@click.option(
    "--access-log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append one JSON line per request (method, path, status, ms) to this file.",
)
@click.pass_obj
def serve(
    obj: Context,
    host: str,
    port: int,
    db: Path,
    api_key: str | None,
    latency: float,
    access_log: Path | None,
) -> int:
    """Run the local Assistants API server (Assistants v2, Files, Vector stores) under /v1.

    Every request needs `Authorization: Bearer KEY`. Without --api-key or OPENAI_API_KEY a key is
    generated and printed once. State survives restarts in the --db file.

    \b
    Example:
      arun serve --port 8787 --access-log .arun/access.jsonl
      OPENAI_BASE_URL=http://127.0.0.1:8787/v1 arun apply
    """
    from runner.commands.serve import ServeOptions, run_serve

    options = ServeOptions(
        host=host, port=port, db=db, api_key=api_key, latency=latency, access_log=access_log
    )
    return run_serve(options, obj.root)


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("ARUN_DEBUG", "") not in ("", "0")


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: maps outcomes to exit codes (0/1/2 from commands, 1 user error, 3 bug, 130)."""
    args = list(sys.argv[1:] if argv is None else argv)
    sys.exit(run(args))


def run(args: list[str]) -> int:
    try:
        result: Any = cli.main(args=args, prog_name="arun", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        # Usage mistakes are user errors like any other: exit 1, so that 2 only ever means "plan has changes".
        exc.show()
        return EXIT_USER_ERROR
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except RunnerError as exc:
        click.echo(f"Error: {exc}", err=True)
        return exc.exit_code
    except Exception as exc:
        if _debug_requested(args):
            traceback.print_exc()
        click.echo(
            f"Internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in arun. Run again with --debug for the traceback and report it.",
            err=True,
        )
        return EXIT_INTERNAL_ERROR
    return result if isinstance(result, int) else EXIT_OK
