"""The route table's shortcut (runner/server/urls.py, `Routes.near`) picks the route Starlette's own scan
picks, the first route that matches fully, for every route's path with ids of all kinds and every method;
for paths near them (a trailing slash, a segment more or less, unknown first segments, model names with
slashes) it picks that route too, or none, and the request goes through Starlette's scan."""

from __future__ import annotations

import itertools
import re
from typing import Any

from starlette.routing import Match

from runner.server.urls import ROUTES, Routes

METHODS = ("GET", "POST", "DELETE", "PUT")
IDS = ("thread_abc", "runs", "messages", "a.b-c~d", "ft:gpt-4o:org/x/y", "%20", "x" * 60)


def paths(near: bool) -> list[str]:
    found = (
        {"/", "", "/unknown", "/threads/", "/models/", "/chat/completions/x", "/v1/threads"}
        if near
        else set()
    )
    for route in ROUTES:
        names = re.findall(r"{[^}]+}", route.path)
        for values in itertools.product(IDS, repeat=len(names)):
            path = route.path
            for name, value in zip(names, values, strict=True):
                path = path.replace(name, value, 1)
            found |= {path + "/", path + "/more", path.rsplit("/", 1)[0]} if near else {path}
    return sorted(found)


def scan(scope: dict[str, Any]) -> Any:
    return next((route for route in ROUTES if route.matches(scope)[0] is Match.FULL), None)


def test_the_near_routes_pick_what_the_scan_picks() -> None:
    routes = Routes(ROUTES)
    found = 0
    for path, method in itertools.product(paths(near=False), METHODS):
        scope = {"type": "http", "path": "/v1" + path, "root_path": "/v1", "method": method}
        near = routes.near(scope)
        assert (near[0] if near else None) is scan(scope), (method, path)
        found += near is not None
    assert found > 2 * len(ROUTES)  # every route, under several ids


def test_near_a_route_the_shortcut_picks_the_same_or_leaves_it_to_the_scan() -> None:
    routes = Routes(ROUTES)
    for path, method in itertools.product(paths(near=True), METHODS):
        scope = {"type": "http", "path": "/v1" + path, "root_path": "/v1", "method": method}
        near = routes.near(scope)
        assert near is None or near[0] is scan(scope), (method, path)
