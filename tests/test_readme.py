"""Run the examples of README.md and of the docs pages, for real.

Each document's fenced ``python`` blocks run in order, in one namespace (a
module of their own), inside a test with database access and an isolated
plugin registry, so what they register does not leak into other tests. Along
the way the test does what Django and the reader would do between blocks:

* an ``AppConfig`` subclass defined by a block gets its ``ready()`` called
  right away, as Django does at start-up; relative imports inside it (``from
  .plugins import ...``) resolve to the document's own namespace, as if every
  file the document shows were one module;
* a shell block line ``python manage.py pluginsync [options]`` (or
  ``pluginrotatekeys``) runs that command, so documented options are checked
  too; every other shell line (``pip install``, ``migrate``...) is skipped, the
  test database being set up already.

A block preceded, on the line just before its fence, by
``<!-- not-executed: reason -->`` is skipped (settings snippets and the like).

The walk-throughs (README and quick start) run as a reader runs them, with no
shared namespace to hide a missing import: a block whose first line names a file
(``# otp/plugins.py``) becomes that module (``otp.plugins``, in a package
``otp``), and every other block runs in one ``manage.py shell`` session of its
own, which sees only what it imports.
"""

from __future__ import annotations

import re
import shlex
import sys
import types
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest
from django.apps import AppConfig
from django.core.management import call_command

from wagtail_plugin_system.core.registry import registry

ROOT = Path(__file__).resolve().parent.parent

DOCUMENTS = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("docs/*.md"))]

#: At least this many Python blocks must run per document, so a parsing slip
#: (or an over-eager marker) cannot make the test pass vacuously.
MIN_EXECUTED = {"README.md": 4}

#: Documents that walk through the whole set-up: they must register through an
#: AppConfig and run pluginsync.
WALK_THROUGHS = {"README.md", "docs/quickstart.md"}

SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
#: The package's own management commands, run when a shell block shows them.
COMMANDS = {"pluginsync", "pluginrotatekeys"}
FENCE_OPEN = re.compile(r"^```([\w+-]*)\s*$")
FENCE_CLOSE = "```"
MARKER = re.compile(r"^<!--\s*not-executed:\s*(?P<reason>\S.*?)\s*-->$")
FILE_HEADER = re.compile(r"^# (?P<path>[\w/]+)\.py\n")
RELATIVE_IMPORT = re.compile(r"^\s*from\s+\.(?P<module>\w*)\s+import\s+(?P<names>[\w, ]+)", re.M)


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    line: int  # 1-based line number of the first code line
    skip_reason: str | None


def extract_blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, with their not-executed markers."""
    lines = text.splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE_OPEN.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != FENCE_CLOSE:
            end += 1
        if end == len(lines):
            raise AssertionError(f"line {index + 1}: code fence is never closed")
        previous = lines[index - 1].strip() if index else ""
        marker = MARKER.match(previous)
        blocks.append(
            Block(
                language=opening.group(1).lower(),
                code="\n".join(lines[index + 1 : end]) + "\n",
                line=index + 2,
                skip_reason=marker.group("reason") if marker else None,
            )
        )
        index = end + 1
    return blocks


def test_extract_blocks_honours_markers() -> None:
    text = (
        "Intro\n"
        "<!-- not-executed: settings snippet -->\n"
        "```python\nSETTING = 1\n```\n"
        "\n"
        "```python\nx = 1\n```\n"
        "<!-- not-executed: -->\n"
        "```bash\npython manage.py pluginsync\n```\n"
    )
    blocks = extract_blocks(text)
    assert [(b.language, b.code, b.line, b.skip_reason) for b in blocks] == [
        ("python", "SETTING = 1\n", 4, "settings snippet"),
        ("python", "x = 1\n", 8, None),
        # A marker without a reason does not count: every skip must say why.
        ("bash", "python manage.py pluginsync\n", 12, None),
    ]


class _DocumentRun:
    """Executes one document's blocks in order in a module namespace."""

    def __init__(self, document: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.document = document
        stem = re.sub(r"\W", "_", Path(document).stem.lower())
        self.module_name = f"docs_example_{stem}"
        module = types.ModuleType(self.module_name)
        module.__file__ = str(tmp_path / "__init__.py")
        module.__path__ = [str(tmp_path)]
        module.__package__ = self.module_name
        self.module = module
        self.monkeypatch = monkeypatch
        monkeypatch.setitem(sys.modules, self.module_name, module)
        self.started_configs: set[type[AppConfig]] = set()
        self.executed_python = 0
        self.commands: list[str] = []
        self.tmp_path = tmp_path
        #: Walk-throughs: files are modules, other blocks share a shell session only.
        self.as_written = document in WALK_THROUGHS
        self.shell = types.ModuleType(f"{self.module_name}_shell")
        self.file_modules: dict[str, types.ModuleType] = {}

    def file_module(self, path: str) -> types.ModuleType:
        """The module a ``# pkg/mod.py`` block defines, with its packages."""
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            if name in self.file_modules:
                continue
            module = types.ModuleType(name)
            directory = self.tmp_path.joinpath(*parts[:depth])
            if depth < len(parts):
                module.__path__ = [str(directory)]
                module.__file__ = str(directory / "__init__.py")
                module.__package__ = name
            else:
                module.__file__ = f"{directory}.py"
                module.__package__ = ".".join(parts[: depth - 1])
            self.file_modules[name] = module
            self.monkeypatch.setitem(sys.modules, name, module)
        return self.file_modules[".".join(parts)]

    def run_as_written(self, block: Block) -> None:
        header = FILE_HEADER.match(block.code)
        namespace = self.file_module(header.group("path")) if header else self.shell
        code = compile(block.code, f"{self.document}, block at line {block.line}", "exec")
        exec(code, namespace.__dict__)
        self.executed_python += 1
        for value in list(vars(namespace).values()):
            if (
                isinstance(value, type)
                and issubclass(value, AppConfig)
                and value.__module__ == namespace.__name__
                and value not in self.started_configs
            ):
                self.started_configs.add(value)
                app_module = self.file_modules[value.name]
                value(value.name, app_module).ready()

    def alias_relative_imports(self, code: str) -> None:
        """Make ``from .x import y`` in the document resolve to its own namespace."""
        for match in RELATIVE_IMPORT.finditer(code):
            submodule = match.group("module")
            names = [name.strip() for name in match.group("names").split(",")]
            targets = [submodule] if submodule else names
            for target in targets:
                self.monkeypatch.setitem(sys.modules, f"{self.module_name}.{target}", self.module)

    def run_python(self, block: Block) -> None:
        self.alias_relative_imports(block.code)
        code = compile(block.code, f"{self.document}, block at line {block.line}", "exec")
        exec(code, self.module.__dict__)
        self.executed_python += 1
        self.start_app_configs()

    def start_app_configs(self) -> None:
        for value in list(vars(self.module).values()):
            if (
                isinstance(value, type)
                and issubclass(value, AppConfig)
                and value.__module__ == self.module_name
                and value not in self.started_configs
            ):
                self.started_configs.add(value)
                value(value.name, self.module).ready()

    def run_shell(self, block: Block) -> None:
        for raw in block.code.splitlines():
            line = raw.strip().removeprefix("$ ")
            if not line or line.startswith("#"):
                continue
            words = shlex.split(line, comments=True)
            if words[:2] == ["python", "manage.py"] and words[2:3] and words[2] in COMMANDS:
                call_command(*words[2:], stdout=StringIO(), stderr=StringIO())
                self.commands.append(line)

    def run(self, blocks: list[Block]) -> None:
        for block in blocks:
            if block.skip_reason is not None:
                continue
            if block.language == "python" and self.as_written:
                self.run_as_written(block)
            elif block.language == "python":
                self.run_python(block)
            elif block.language in SHELL_LANGUAGES:
                self.run_shell(block)


@pytest.mark.django_db
@pytest.mark.parametrize("document", DOCUMENTS)
def test_document_examples_run(
    document: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROOT / document).read_text(encoding="utf-8")
    blocks = extract_blocks(text)
    markers = [line for line in text.splitlines() if line.strip().startswith("<!-- not-executed")]
    skipped = [block for block in blocks if block.skip_reason is not None]
    assert len(markers) == len(skipped), (
        f"{document}: every '<!-- not-executed: reason -->' marker must give a reason and sit "
        f"on the line just before a code fence"
    )
    indented = re.search(r"^[ \t]+```", text, re.MULTILINE)
    assert indented is None, (
        f"{document}: an indented code fence is never run here (and MkDocs does not render "
        f"fences inside lists); put the block at the start of a line"
    )
    run = _DocumentRun(document, tmp_path, monkeypatch)
    with registry.isolated():
        run.run(blocks)
    minimum = MIN_EXECUTED.get(document, 0)
    assert run.executed_python >= minimum, (
        f"{document}: only {run.executed_python} Python block(s) ran; expected at least {minimum}"
    )
    if document in WALK_THROUGHS:
        assert run.started_configs, f"{document}: no AppConfig.ready() ran"
        assert run.commands, f"{document}: no 'python manage.py pluginsync' ran"
