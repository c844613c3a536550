"""The files `arun init` writes: a project that replays green on the embedded local server right away."""

from __future__ import annotations

from runner import __version__

DISTRIBUTION = "arun-cli"  # the name on PyPI (`arun` there is an unrelated project); the command is `arun`

ASSISTANT = """\
# yaml-language-server: $schema=../schemas/assistant.schema.json
name: Helpdesk
description: Answers questions about orders, looking them up through a function that the caller implements.
model: gpt-4o-mini
instructions: |
  You are the helpdesk of a small online shop.
  When the user asks about an order, call get_order_status with its number and answer from the result.
  Never guess an order's status.
tools:
  - type: function
    function:
      name: get_order_status
      description: The status of an order, by its number.
      parameters:
        type: object
        properties:
          order_id:
            type: integer
            description: The order number, for example 1234.
        required: [order_id]
        additionalProperties: false
temperature: 0.2
"""

SCENARIO = """\
# yaml-language-server: $schema=../../schemas/scenario.schema.json
assistant: helpdesk
description: The assistant looks the order up; the scenario answers the call and checks the reply uses it.
turns:
  - user: Where is my order 1234?
    tool_outputs:                      # what your function would return, by function name
      get_order_status: {order_id: 1234, status: shipped, carrier: Parcelpost}
    expect:
      - tool_called:
          name: get_order_status
          arguments: {order_id: 1234}
      - contains: shipped
      - status: completed
  - user: Thank you, that is all.
    expect:
      - no_tool_called: true
      - status: completed
"""

GITIGNORE = """\
# arun's local state: the embedded server's database and the latest replay's transcripts
.arun/
# API keys live here, if anywhere
.env
"""

_INSTALL = f'pip install "{DISTRIBUTION}=={__version__}"'

WORKFLOW = f"""\
# Written by `arun init`. Validates the YAML, shows the plan, replays the scenarios in shards on arun's
# embedded local server (no account, no key, no network), and puts the transcript diff on the run's
# summary page. Keep the golden transcripts in transcripts/: `arun replay --update-golden`, then commit.
name: arun
on:
  pull_request:
  push:
    branches: [main]

jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {{python-version: "3.11"}}
      - run: {_INSTALL}
      - run: arun validate
      - run: arun plan || [ $? -eq 2 ]     # exit 2 only means "there are changes"

  replay:
    needs: validate
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        shard: ["1/2", "2/2"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {{python-version: "3.11"}}
      - run: {_INSTALL}
      # No OPENAI_API_KEY and no OPENAI_BASE_URL: arun uses its embedded local server. To replay on your own
      # server instead, set both from repository secrets.
      - run: arun apply --yes
      - run: arun replay --shard ${{{{ matrix.shard }}}} --junit junit.xml --compare transcripts/
      - if: always()
        uses: actions/upload-artifact@v4
        with:
          name: transcripts-${{{{ strategy.job-index }}}}
          path: .arun/transcripts/
          if-no-files-found: ignore
      - if: always()
        uses: actions/upload-artifact@v4
        with:
          name: junit-${{{{ strategy.job-index }}}}
          path: junit.xml
          if-no-files-found: ignore

  diff:
    needs: replay
    if: always()
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {{python-version: "3.11"}}
      - run: {_INSTALL}
      - uses: actions/download-artifact@v4
        with: {{pattern: "transcripts-*", path: new-transcripts, merge-multiple: true}}
      - name: transcript diff into the summary
        run: |
          mkdir -p new-transcripts
          arun diff transcripts/ new-transcripts/ --format markdown >> "$GITHUB_STEP_SUMMARY" || [ $? -eq 1 ]
"""

PRE_COMMIT = """\
# Written by `arun init`: `arun validate` before every commit (install the hook with `pre-commit install`).
# It checks the whole project on every commit, since a YAML file can break through a file it refers to
# (a prompt, a corpus file) without being touched itself. It runs the arun installed where you commit.
repos:
  - repo: local
    hooks:
      - id: arun-validate
        name: arun validate
        entry: arun validate
        language: system
        always_run: true
        pass_filenames: false
"""

# Project-relative path -> text. The schemas are copied from the package at run time.
FILES: dict[str, str] = {
    ".gitignore": GITIGNORE,
    ".github/workflows/arun.yml": WORKFLOW,
    ".pre-commit-config.yaml": PRE_COMMIT,
}
EXAMPLE: dict[str, str] = {
    "assistants/helpdesk.yaml": ASSISTANT,
    "scenarios/helpdesk/order-status.yaml": SCENARIO,
}
SCHEMAS = ("assistant", "scenario", "transcript")
