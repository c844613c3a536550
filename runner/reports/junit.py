"""JUnit XML, the report every CI system renders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from runner.transcript.io import write_atomic


@dataclass(frozen=True)
class Case:
    name: str
    classname: str
    failure: str | None = None  # one-line message; None means the case passed
    details: str = ""
    seconds: float = 0.0
    error: bool = False  # arun got no verdict (no answer, interrupted): <error>, not <failure>


def render_junit(suite: str, cases: Sequence[Case]) -> str:
    errors = sum(1 for c in cases if c.failure is not None and c.error)
    failures = sum(1 for c in cases if c.failure is not None and not c.error)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": str(errors)}
    root = ET.Element("testsuites", {"name": suite, **counts})
    node = ET.SubElement(root, "testsuite", {"name": suite, **counts})
    for case in cases:
        element = ET.SubElement(
            node, "testcase", name=case.name, classname=case.classname, time=f"{case.seconds:.3f}"
        )
        if case.failure is not None:
            failure = ET.SubElement(element, "error" if case.error else "failure", message=case.failure)
            failure.text = case.details or case.failure
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: Path, suite: str, cases: Sequence[Case]) -> None:
    write_atomic(path, render_junit(suite, cases))
