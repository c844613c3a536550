"""Reading and writing transcript files: canonical YAML text, atomic writes, schema-checked reads."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

import yaml

from runner.errors import RunnerError
from runner.project.yamlpos import MAX_FILE_BYTES, YamlProblem, load_yaml
from runner.transcript.quickload import quick_load, quick_load_beside
from runner.transcript.yamlfast import FastResolve, NotPlain, show_node, writes_alike

SUFFIX = ".yaml"
# 2: reply text without citation markers, citations listed with their place in it; the protocol named.
FORMAT = 2


class TranscriptInvalid(RunnerError):
    """A transcript file that is not a transcript; the message lists every problem at its line."""


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line text (replies, code, instructions) as literal blocks, so diffs read like the text itself.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)

_CDumperBase: type[yaml.SafeDumper] | None = getattr(yaml, "CSafeDumper", None)
_ShowDumper: type[yaml.SafeDumper] = _Dumper
if _CDumperBase is not None:

    class _CDumper(FastResolve, _CDumperBase):  # type: ignore[valid-type,misc]
        pass

    _CDumper.add_representer(str, _represent_str)
    _ShowDumper = _CDumper


def canonical(value: Any) -> Any:
    """Free-form data (tool arguments, outputs, settings) with keys sorted, so equal data writes equal text."""
    if isinstance(value, Mapping):
        return {str(k): canonical(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def dump(data: Mapping[str, Any]) -> str:
    """UTF-8 YAML with non-ASCII text kept readable, the given key order, LF endings, no line folding.

    The text is PyYAML's pure-Python emitter's. Data libyaml writes alike (`writes_alike`: nearly every
    transcript) is written by libyaml, ~10x faster: replay writes one transcript per scenario, and the
    pure-Python dumper was a third of its client's CPU (docs/performance.md, "Replay client")."""
    if _ShowDumper is not _Dumper and writes_alike(data):
        with suppress(UnicodeError, yaml.YAMLError):  # left to the reference dumper, which says why
            return _show(data)
    return _dump(data, _Dumper)


def dump_to_show(data: Any) -> str:
    """`dump` through libyaml for any data, for diff's display only: its quoting of rare characters (NEL,
    lone surrogates, characters beyond the BMP) differs from the files'."""
    try:
        return _show(data)
    except (UnicodeError, yaml.YAMLError):
        return _dump(data, _Dumper)


_STYLE: dict[str, Any] = {
    "allow_unicode": True,
    "sort_keys": False,
    "default_flow_style": False,
    "width": 1_000_000,
    "indent": 2,
    "line_break": "\n",
}


def _dump(data: Any, dumper: type[yaml.SafeDumper]) -> str:
    text: str = yaml.dump(data if not isinstance(data, Mapping) else dict(data), Dumper=dumper, **_STYLE)
    return text


def _show(data: Any) -> str:
    """`_dump(data, _ShowDumper)`, with the nodes built directly (runner/transcript/yamlfast.py)."""
    if _ShowDumper is _Dumper:
        return _dump(data, _Dumper)
    stream = io.StringIO()
    dumper = _ShowDumper(stream, **_STYLE)
    try:
        try:
            node = show_node(dict(data) if isinstance(data, Mapping) else data, dumper, set())
        except NotPlain:
            return _dump(data, _ShowDumper)
        dumper.open()
        dumper.serialize(node)
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()


def write_atomic(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_transcript(path: Path, data: Mapping[str, Any]) -> None:
    write_atomic(path, dump(data))


def _quick_text(raw: bytes) -> str | None:
    """The text the fast path may read, or None for a file only the careful loader reads."""
    if len(raw) > MAX_FILE_BYTES or b"\x00" in raw:
        return None
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None


def read_pair(golden: Path, new: Path, before: bytes, after: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """`read_transcript` of a golden and of the new file beside it (`before`, `after`: their bytes), the new
    one reusing the golden's data where their texts agree (quickload.py, `quick_load_beside`)."""
    old_text = _quick_text(before)
    old = quick_load(old_text) if old_text is not None else None
    if old_text is None or old is None:
        return read_transcript(golden, golden.as_posix(), before), read_transcript(new, new.as_posix(), after)
    new_text = _quick_text(after)
    cur = quick_load_beside(new_text, old_text, old) if new_text is not None else None
    return old, cur if cur is not None else read_transcript(new, new.as_posix(), after)


def read_transcript(path: Path, rel: str, raw: bytes | None = None) -> dict[str, Any]:
    """The transcript at `path` (`raw`: its bytes, when the caller has read them), schema-checked."""
    raw = path.read_bytes() if raw is None else raw
    if (text := _quick_text(raw)) is not None and (quick := quick_load(text)) is not None:
        return quick
    # The careful way, which reports every problem at its line (jsonschema is imported only here).
    from runner.project.schema import schema_diagnostics

    try:
        doc = load_yaml(path, rel)
    except YamlProblem as exc:
        problems = exc.diagnostics
    else:
        problems = [] if isinstance(doc.data, dict) else [doc.diag((), "expected a transcript mapping")]
        version = doc.data.get("transcript") if not problems else FORMAT
        if isinstance(version, int) and not isinstance(version, bool) and version < FORMAT:
            raise TranscriptInvalid(
                f"{rel} is a transcript of format {version}, written by an older arun (this one writes "
                f"format {FORMAT}: reply text without citation markers). Record it again with "
                "`arun replay --update-golden`."
            )
        problems = problems or schema_diagnostics(doc, "transcript")
        if not problems:
            data: dict[str, Any] = doc.data
            return data
    listing = "\n".join(p.format() for p in problems)
    raise TranscriptInvalid(f"{rel} is not a valid transcript:\n{listing}")


def transcript_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(scenario name, path) for every transcript under `folder`, sorted by name."""
    found = sorted(p for p in folder.rglob(f"*{SUFFIX}") if p.is_file() and not p.name.startswith("."))
    for path in found:
        yield path.relative_to(folder).with_suffix("").as_posix(), path
