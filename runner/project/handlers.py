"""Python tool-output handlers, checked without running them: the module is parsed, never imported, so
validate runs no project code. The handler's signature decides how replay calls it:

- one parameter that is not an argument of the function (`def get_weather(arguments)`): the arguments
  as one dict;
- anything else (`def lookup_order(order_id)`, `def f(city, unit="celsius")`, `def f(**arguments)`):
  the arguments as keywords, so every required parameter must be an argument of the function, and every
  argument a parameter (or `**kwargs` takes the rest).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Convention:
    keywords: bool  # True: fn(**arguments); False: fn(arguments)
    problems: tuple[str, ...] = ()


def _defined_names(
    tree: ast.Module,
) -> tuple[dict[str, ast.FunctionDef | ast.AsyncFunctionDef], set[str], bool]:
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    others: set[str] = set()
    star = False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions[node.name] = node
        elif isinstance(node, ast.ClassDef):
            others.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    star = True
                others.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                others.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return functions, others, star


def check_handler(root: Path, rel: str, function: str, arguments: Sequence[str] | None) -> Convention:
    """How to call `function` of the module at `rel`; `arguments` are the function tool's property names
    (None when the tool is unknown, then only existence is checked)."""
    source = (root / rel).read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source, filename=rel)
    except SyntaxError as exc:
        return Convention(False, (f"{rel} does not parse: {exc.msg} at line {exc.lineno}",))
    functions, others, star = _defined_names(tree)
    node = functions.get(function)
    if node is None:
        if function in others or star:
            return Convention(False)  # bound some other way (an import, an assignment): replay will tell
        known = ", ".join(sorted(functions)) or "none"
        return Convention(False, (f"{rel} has no function {function!r} (its functions: {known})",))
    if isinstance(node, ast.AsyncFunctionDef):
        return Convention(False, (f"{function} in {rel} is async; a handler must be a plain function (def)",))
    return _convention(node, function, arguments)


def _convention(node: ast.FunctionDef, function: str, arguments: Sequence[str] | None) -> Convention:
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    if arguments is None:
        return Convention(not (len(positional) == 1 and not args.kwonlyargs))
    names = set(arguments)
    if len(positional) == 1 and not args.kwonlyargs and not args.vararg and positional[0].arg not in names:
        return Convention(False)
    problems: list[str] = []
    if args.posonlyargs:
        problems.append(
            f"{function} takes positional-only parameters ('/'); arun passes the arguments by name"
        )
    if args.vararg:
        problems.append(f"{function} takes *{args.vararg.arg}; arun passes the arguments by name")
    required = positional[: len(positional) - len(args.defaults)] + [
        a for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None
    ]
    offered = ", ".join(arguments) or "none"
    for param in required:
        if param.arg not in names:
            problems.append(
                f"parameter {param.arg!r} of {function} is not an argument of the function tool "
                f"(its arguments: {offered}): give it a default, or name it after an argument"
            )
    taken = {a.arg for a in [*positional, *args.kwonlyargs]}
    if args.kwarg is None:
        for name in arguments:
            if name not in taken:
                problems.append(
                    f"{function} takes no parameter {name!r}, an argument of the function tool: add it "
                    f"(with a default if it is optional), or **kwargs for the rest"
                )
    return Convention(True, tuple(problems))
