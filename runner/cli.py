"""Click wiring only: each command parses its options and calls a plain function in runner.commands.

Command modules are imported inside the command functions so that `arun --help` and `arun validate`
never pay for (or depend on) the `openai` import.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
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

    def __init__(self, root: Path, debug: bool, cwd: Path | None = None) -> None:
        self.root = root
        self.debug = debug
        # Where relative paths on the command line start: the current folder, or -C DIR.
        self.cwd = cwd or root


# What "arun could not do the job" exits with, per command (README "Exit codes"): replay and diff keep 1
# for the answer "it failed / it differs" (as pytest and GNU diff), so trouble is 2; plan's 2 means
# "changes" (as terraform's -detailed-exitcode), so its trouble, like apply's and validate's, is 1.
EXIT_TROUBLE = {"replay": 2, "diff": 2}
_COMMAND = "arun.command"


def trouble_code(command: str | None) -> int:
    return EXIT_TROUBLE.get(command or "", EXIT_USER_ERROR)


class ArunGroup(click.Group):
    """Maps every outcome to arun's exit codes, the same under `arun` and under click's CliRunner."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            exc.exit_code = EXIT_USER_ERROR  # type: ignore[misc]  # an instance override, on purpose
            raise

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        ctx.meta[_COMMAND] = command.name if command is not None else name
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            # A usage mistake is "could not do the job": 2 for replay and diff, 1 elsewhere (never plan's
            # "changes").
            exc.exit_code = trouble_code(ctx.meta.get(_COMMAND))  # type: ignore[misc]  # on purpose
            raise
        except (click.exceptions.Exit, click.ClickException):
            raise
        except (KeyboardInterrupt, click.exceptions.Abort):
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except RunnerError as exc:
            click.echo(f"Error: {exc}", err=True)
            code = exc.exit_code
            ctx.exit(code if code is not None else trouble_code(ctx.meta.get(_COMMAND)))
        except Exception as exc:
            if _debug_requested(ctx):
                click.echo(traceback.format_exc(), err=True, nl=False)
            click.echo(
                f"Internal error: {type(exc).__name__}: {exc}\n"
                "This is a bug in arun. Run again with --debug for the traceback, and report it.",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL_ERROR)


def _debug_requested(ctx: click.Context) -> bool:
    obj = ctx.find_object(Context)
    return bool(obj and obj.debug) or os.environ.get("ARUN_DEBUG", "") not in ("", "0")


@click.group(
    cls=ArunGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="arun")
@click.option(
    "-C",
    "--directory",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Project root: the folder holding assistants/, scenarios/ and transcripts/ "
    "(default: the nearest folder upward from here that holds assistants/).",
)
@click.option("--debug", is_flag=True, help="Show the traceback of unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, directory: Path | None, debug: bool) -> None:
    """Assistants as code: validate, plan and apply assistants, replay scenarios, diff transcripts.

    \b
    Example:
      arun validate
      arun -C path/to/project validate assistants/math-tutor.yaml
    """
    from runner.config import find_root

    if directory is not None:
        ctx.obj = Context(root=directory.resolve(), debug=debug)
    else:
        here = Path.cwd()
        ctx.obj = Context(root=find_root(here), debug=debug, cwd=here)


def api_protocol(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--api assistants|responses (also ARUN_API): which protocol the YAML is checked for and run on."""
    return click.option(
        "--api",
        "api",
        type=click.Choice(["assistants", "responses"]),
        envvar="ARUN_API",
        default="assistants",
        show_default=True,
        help="Protocol: the Assistants API, or the Responses API (assistants compiled into each request; "
        "see docs/responses.md). Also ARUN_API.",
    )(fn)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@api_protocol
@click.pass_obj
def validate(obj: Context, paths: tuple[Path, ...], as_json: bool, api: str) -> int:
    """Check assistants and scenarios against their schemas and each other.

    Reads no network and needs no API key. PATHS are files or folders inside the project (default:
    assistants/ and scenarios/; relative to the current folder). Every problem is printed as
    path:line:col: where: message; warnings say "warning:" before the message and do not fail.
    Exits 0 when there is no error, 1 otherwise.

    \b
    Example:
      arun validate
      arun validate scenarios/math-tutor/ --json
    """
    from runner.commands.validate import run_validate

    return run_validate(obj.root, list(paths), as_json=as_json, cwd=obj.cwd, api=api)


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=True, path_type=Path))
@click.pass_obj
def init(obj: Context, directory: Path) -> int:
    """Start a project in DIRECTORY (default: here) that replays green on the embedded local server.

    Writes assistants/ with one assistant, scenarios/ with one scenario, the JSON Schemas their
    yaml-language-server lines name, .gitignore, a GitHub Actions workflow and a pre-commit config.
    Never overwrites a file: what is already there is skipped, and said so. Exits 0, or 1 when it
    cannot write.

    \b
    Example:
      arun init my-assistants && cd my-assistants && arun replay
    """
    from runner.commands.init import run_init

    return run_init(directory if directory.is_absolute() else obj.cwd / directory)


def api_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--base-url, --api-key and --local, for every command that talks to an API."""
    fn = click.option(
        "--local",
        is_flag=True,
        help="Use the embedded local server (state in .arun/local.db), whatever else is set.",
    )(fn)
    fn = click.option(
        "--api-key", metavar="KEY", help="API key (default: OPENAI_API_KEY, then .env). Never printed."
    )(fn)
    fn = click.option(
        "--base-url",
        metavar="URL",
        help="Assistants API base URL ending in /v1 (default: OPENAI_BASE_URL, then .env).",
    )(fn)
    return fn


@cli.command()
@api_options
@api_protocol
@click.option("--prune", is_flag=True, help="Also plan to delete managed assistants whose YAML is gone.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_obj
def plan(
    obj: Context,
    base_url: str | None,
    api_key: str | None,
    local: bool,
    api: str,
    prune: bool,
    as_json: bool,
) -> int:
    """Show what apply would change on the API: + create, ~ update (field by field), - delete.

    Reads only. Matches remote assistants to files by the key arun stores in their metadata, never by
    name; objects arun did not create are never touched. Exits 0 when there is nothing to do, 2 when
    there are changes, 1 on error.

    \b
    Example:
      arun plan
      arun plan --prune --json
    """
    from runner.commands.plan import ApiOptions, run_plan

    return run_plan(obj.root, ApiOptions(base_url, api_key, local, api), prune=prune, as_json=as_json)


@cli.command()
@api_options
@api_protocol
@click.option("--prune", is_flag=True, help="Delete managed assistants whose YAML is gone, with their files.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (needed without a terminal).")
@click.option("--json", "as_json", is_flag=True, help="Print the applied plan as JSON.")
@click.pass_obj
def apply(
    obj: Context,
    base_url: str | None,
    api_key: str | None,
    local: bool,
    api: str,
    prune: bool,
    yes: bool,
    as_json: bool,
) -> int:
    """Make the API match the YAML: execute the plan, then plan again to prove it converged.

    Uploads only files whose content changed, keeps file_search files in a vector store arun manages per
    assistant, and removes what it made that nothing uses any more. On a terminal it shows the plan and
    asks; elsewhere it needs --yes.

    \b
    Example:
      arun apply
      arun apply --yes --prune
    """
    from runner.commands.apply import run_apply
    from runner.commands.plan import ApiOptions

    return run_apply(
        obj.root, ApiOptions(base_url, api_key, local, api), prune=prune, yes=yes, as_json=as_json
    )


@cli.command()
@click.argument("scenarios", nargs=-1)
@api_options
@api_protocol
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where transcripts go (default .arun/transcripts; never the goldens).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="Scenarios replayed at once.",
)
@click.option(
    "-k",
    "pattern",
    metavar="PATTERN",
    help="Only scenarios whose name contains PATTERN or matches it as a glob.",
)
@click.option("--shard", metavar="I/N", help="Only shard I of N (stable by scenario name), for CI matrices.")
@click.option(
    "--repeat",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    help="Replay each scenario K times (transcripts name@1..K).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(1),
    default=300.0,
    show_default=True,
    help="Seconds a run may take before arun cancels it.",
)
@click.option("--poll", is_flag=True, help="Poll runs instead of streaming (for servers without streaming).")
@click.option(
    "--state",
    type=click.Choice(["conversation", "previous-response", "stateless"]),
    default="conversation",
    show_default=True,
    help="--api responses: where the conversation lives: a Conversations API object per scenario, chained "
    "previous_response_id (store true), or nothing stored (every request sends the items so far).",
)
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML here.")
@click.option(
    "--summary",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a Markdown summary here (also appended to GITHUB_STEP_SUMMARY when set).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option(
    "--compare",
    type=click.Path(file_okay=False, path_type=Path),
    help="Then diff the transcripts against this golden folder.",
)
@click.option(
    "--update-golden",
    is_flag=True,
    help="Then copy the replayed scenarios' transcripts into transcripts/ (or --compare DIR); orphans are "
    "removed only when every scenario (of the shard) was replayed; interrupted ones are never copied.",
)
@click.option("--force", is_flag=True, help="Let --update-golden run when CI is set.")
@click.option(
    "--text-similarity",
    type=click.FloatRange(0, 1, min_open=True),
    metavar="X",
    help="With --compare: reply texts at least this similar count as equal.",
)
@click.option("--allow-orphans", is_flag=True, help="With --compare: goldens without a scenario do not fail.")
@click.option(
    "--allow-python-handlers",
    is_flag=True,
    help="Run tool-output handlers ({python: module:function}) from modules inside the project.",
)
@click.option(
    "--model-time",
    type=click.FloatRange(0, 60),
    metavar="S",
    help="On the embedded server: simulated seconds per model step, to watch replies stream "
    "(default: ARUN_MODEL_TIME, else 0, the machine's speed).",
)
@click.pass_obj
def replay(
    obj: Context,
    scenarios: tuple[str, ...],
    base_url: str | None,
    api_key: str | None,
    local: bool,
    api: str,
    out: Path | None,
    jobs: int,
    pattern: str | None,
    shard: str | None,
    repeat: int,
    timeout: float,
    poll: bool,
    state: str,
    junit: Path | None,
    summary: Path | None,
    as_json: bool,
    compare: Path | None,
    update_golden: bool,
    force: bool,
    text_similarity: float | None,
    allow_orphans: bool,
    allow_python_handlers: bool,
    model_time: float | None,
) -> int:
    """Replay scenarios through threads and runs, check their expectations, write one transcript each.

    One thread per scenario and one streamed run per turn (one request per turn, one more per tool
    round). SCENARIOS are names (`math-tutor/seed-jane-doe`) or folders (`math-tutor/`); default all.
    Every run ends terminal or is cancelled by arun, Ctrl-C included. The output folder holds this
    replay's transcripts only. An assistant that differs from its YAML is applied first on the embedded
    server and refused elsewhere. Exits 0 when every expectation holds (and, with --compare, the
    transcripts match), 1 on a failure or difference, 2 when arun could not do the job, 5 when the
    names or -k match no scenario.

    \b
    Example:
      arun replay
      arun replay math-tutor/ -j 8 --junit report.xml
      arun replay --shard 2/4 --compare transcripts/
    """
    from runner.commands.plan import ApiOptions
    from runner.commands.replay import ReplayOptions, run_replay
    from runner.shard import parse_shard

    options = ReplayOptions(
        names=scenarios,
        pattern=pattern,
        out=out,
        jobs=jobs,
        shard=parse_shard(shard) if shard else None,
        repeat=repeat,
        timeout=timeout,
        poll=poll,
        state=state,
        junit=junit,
        summary=summary,
        as_json=as_json,
        compare=compare,
        update_golden=update_golden,
        force=force,
        text_similarity=text_similarity,
        allow_orphans=allow_orphans,
        allow_python_handlers=allow_python_handlers,
    )
    return run_replay(obj.root, ApiOptions(base_url, api_key, local, api, model_time), options)


@cli.command()
@click.argument("golden", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text for people, markdown for pull requests and GITHUB_STEP_SUMMARY, json for machines.",
)
@click.option(
    "--include",
    type=click.Choice(["usage", "spec_hash", "api"]),
    multiple=True,
    help="Also compare what is shown only as context by default: token usage, the assistant's spec hash, "
    "the protocol (api). Repeatable.",
)
@click.option(
    "--text-similarity",
    type=click.FloatRange(0, 1, min_open=True),
    metavar="X",
    help="Reply texts at least this similar (0-1, e.g. 0.8) count as equal. Structure always compares exactly.",
)
@click.option(
    "--allow-orphans", is_flag=True, help="Golden transcripts without a new one do not fail the diff."
)
@click.option(
    "--junit", type=click.Path(dir_okay=False, path_type=Path), help="Also write JUnit XML to this file."
)
def diff(
    golden: Path,
    new: Path,
    fmt: str,
    include: tuple[str, ...],
    text_similarity: float | None,
    allow_orphans: bool,
    junit: Path | None,
) -> int:
    """Compare two sets of transcripts, scenario by scenario and turn by turn.

    Everything compares except token usage, the assistant's spec hash and the protocol (shown as
    context; --include compares them); structure (statuses, tool calls and their JSON arguments,
    expectation outcomes) exactly, reply text exactly unless --text-similarity allows a tolerance.
    Exits 0 when the sets match, 1 when they differ (a scenario changed, is new, or lost its golden),
    2 on trouble (a folder missing, a file that is not a transcript, a usage mistake).

    \b
    Example:
      arun diff transcripts/ .arun/transcripts/
      arun diff transcripts/ .arun/transcripts/ --text-similarity 0.8 --format markdown
    """
    from runner.commands.diff import run_diff

    return run_diff(
        golden,
        new,
        fmt=fmt,  # type: ignore[arg-type]  # click.Choice guarantees one of the literals
        include=include,
        text_similarity=text_similarity,
        allow_orphans=allow_orphans,
        junit=junit,
    )


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
@click.option(
    "--api-key",
    help="Key clients must send. Prefer --api-key-file or OPENAI_API_KEY: a key on the command line is "
    "visible to every user of this machine in `ps` and lands in shell history.",
)
@click.option(
    "--api-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the key from this file (its first line). Safer than --api-key: the key stays out of `ps` "
    "and shell history.",
)
@click.option("--latency", type=float, default=0.0, help="Seconds of delay added to every request.")
@click.option(
    "--access-log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append one JSON line per request (method, path, status, ms) to this file.",
)
@click.option(
    "--model-time",
    type=float,
    default=0.5,
    show_default=True,
    help="Seconds the simulated model takes per step (text streams at that pace).",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="KIND=P",
    help="Inject faults into run operations: rate_limit, server_error, drop_stream, run_failed (repeatable).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fault random sources.")
@click.option(
    "--no-code-execution",
    is_flag=True,
    help="Do not run code_interpreter code (steps still appear, with a note instead of output).",
)
@click.option(
    "--unsafe-code-execution",
    is_flag=True,
    help="Run code from a real model even where the sandbox has no boundary (no bubblewrap): it then runs "
    "as the server's user, with limits but with access to its files and network. See docs/sandbox.md.",
)
@click.option(
    "--upstream",
    metavar="BASE_URL",
    help="Ask this OpenAI-compatible Chat Completions endpoint (ending in /v1) for every model step.",
)
@click.option(
    "--upstream-key-env",
    metavar="VAR",
    default="UPSTREAM_API_KEY",
    show_default=True,
    help="Environment variable holding the upstream's API key (unset: no key is sent).",
)
@click.option(
    "--upstream-model",
    metavar="NAME|REQ=UP,...",
    help="Upstream model for every request, or a mapping from requested to upstream model names.",
)
@click.option(
    "--upstream-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds without a byte from the upstream before the attempt counts as failed.",
)
@click.option(
    "--max-model-steps",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="With --upstream/--replay: tool steps per run before the model must answer (tool_choice none).",
)
@click.option(
    "--record",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --upstream: write every upstream exchange into this folder.",
)
@click.option(
    "--replay",
    type=click.Path(file_okay=False, path_type=Path),
    help="Answer model steps from exchanges recorded with --record (no upstream, no network).",
)
@click.pass_obj
def serve(
    obj: Context,
    host: str,
    port: int,
    db: Path,
    api_key: str | None,
    api_key_file: Path | None,
    latency: float,
    access_log: Path | None,
    model_time: float,
    faults: tuple[str, ...],
    seed: int,
    no_code_execution: bool,
    unsafe_code_execution: bool,
    upstream: str | None,
    upstream_key_env: str,
    upstream_model: str | None,
    upstream_timeout: float,
    max_model_steps: int,
    record: Path | None,
    replay: Path | None,
) -> int:
    """Run the local Assistants API server (Assistants v2, Files, Vector stores) under /v1.

    Every request needs `Authorization: Bearer KEY`. The key comes from --api-key-file, --api-key or
    OPENAI_API_KEY (in that order); without any, one is generated and printed once. State survives
    restarts in the --db file.

    \b
    Example:
      arun serve --port 8787 --access-log .arun/access.jsonl
      arun serve --model-time 0.05 --fault drop_stream=0.2 --seed 7
      OPENAI_BASE_URL=http://127.0.0.1:8787/v1 arun apply
      arun serve --upstream http://127.0.0.1:11434/v1 --upstream-model llama3.2 --record exchanges/
      arun serve --replay exchanges/
    """
    from runner.commands.serve import ServeOptions, UpstreamOptions, run_serve

    options = ServeOptions(
        host=host,
        port=port,
        db=db,
        api_key=api_key,
        api_key_file=api_key_file,
        latency=latency,
        access_log=access_log,
        model_time=model_time,
        faults=faults,
        seed=seed,
        code_execution=not no_code_execution,
        unsafe_code_execution=unsafe_code_execution,
        upstream=UpstreamOptions(
            base_url=upstream,
            key_env=upstream_key_env,
            model=upstream_model,
            timeout=upstream_timeout,
            max_steps=max_model_steps,
            record=record,
            replay=replay,
        ),
    )
    return run_serve(options, obj.root)


@cli.result_callback()
@click.pass_context
def _exit_with(ctx: click.Context, result: Any, **_: Any) -> None:
    ctx.exit(result if isinstance(result, int) else EXIT_OK)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: each command's codes (README "Exit codes"), 3 for bugs, 130 on Ctrl-C."""
    cli.main(args=None if argv is None else list(argv), prog_name="arun")
