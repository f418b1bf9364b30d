"""Test sessions for the supported Django and Wagtail combinations: ``nox -l`` lists them.

``make test`` runs the suite in its own virtualenv (Python of the machine, Django 5.2,
the newest Wagtail), then these sessions: each runs the suite once, on the database
that the environment names (SQLite, or PostgreSQL under ``tests/postgres.py run``).
The Python 3.13 sessions run inside a Debian 13 root (``tests/debian_root.sh``) on
machines without Python 3.13.

Arguments after ``--`` go to pytest and replace the defaults: the marker selection
(``-m "not packaging and not browser"``: the main run builds the wheel and drives the
browser) and two worker processes, each taking whole test files (``-n 2 --dist
loadfile``; ``WPS_TEST_WORKERS`` sets the number, 0 runs in one process).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

#: Run once, by the main run: building the wheel and driving the browser.
RUN_ONCE = "not packaging and not browser"

#: Worker processes per run (pytest-xdist), each taking whole test files in order.
WORKERS = ["-n", os.environ.get("WPS_TEST_WORKERS", "2"), "--dist", "loadfile"]

#: What the tested Django and Wagtail lines are pinned with.
DJANGO = {"5.2": "Django>=5.2,<5.3", "6.0": "Django>=6.0,<6.1", "6.1": "Django>=6.1,<6.2"}
WAGTAIL = {"7.4": "wagtail>=7.4,<7.5", "8.0": "wagtail>=8.0,<8.1"}


@dataclass(frozen=True)
class Cell:
    """One combination of the test matrix."""

    #: Python version; None: the Python nox itself runs with.
    python: str | None
    django: str
    wagtail: str
    #: Install the package alone first, and check that pip picks these lines by itself.
    unpinned: bool = False

    @property
    def name(self) -> str:
        return f"tests-django{self.django}-wagtail{self.wagtail}"


CELLS = [
    # Wagtail 7.4 LTS on the machine's Python (the main virtualenv has Wagtail 8.0).
    Cell(None, "5.2", "7.4"),
    # What a new `wagtail start` project gets, resolved from our own dependencies only.
    Cell("3.13", "6.1", "8.0", unpinned=True),
    # Wagtail 7.4 LTS supports Django 5.2 and 6.0, not 6.1.
    Cell("3.13", "6.0", "7.4"),
]

#: Prints the versions installed, and fails unless they are the cell's lines.
CHECK_VERSIONS = """
import platform, sys, django, wagtail
want = tuple(sys.argv[1:])
have = ("%d.%d" % django.VERSION[:2], "%d.%d" % wagtail.VERSION[:2])
print("Python", platform.python_version(), "Django", django.__version__,
      "Wagtail", wagtail.__version__)
if have != want:
    sys.exit("expected Django %s and Wagtail %s" % want)
"""


def _session(cell: Cell) -> None:
    def tests(session: nox.Session) -> None:
        pins = [DJANGO[cell.django], WAGTAIL[cell.wagtail]]
        if cell.unpinned:
            # What a user gets: the package alone, the newest releases that its metadata
            # allows (eager, also in a virtualenv reused from an earlier run).
            session.install("--upgrade", "--upgrade-strategy", "eager", "-e", ".")
            session.run("python", "-c", CHECK_VERSIONS, cell.django, cell.wagtail)
            # The test extra brings django-plugin-system 2.0.9, whose tables the
            # pluginimport and compat tests write, and which declares Django<6.1: pip
            # then goes back to Django 6.0. The cell's lines go in again over it (pip
            # reports the conflict); the suite shows its models still serve those tests.
            session.install("-e", ".[test]")
            session.install(*pins)
        else:
            session.install("-e", ".[test]", *pins)
        session.run("python", "-c", CHECK_VERSIONS, cell.django, cell.wagtail)
        arguments = session.posargs or [*WORKERS, "-m", RUN_ONCE]
        session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *arguments)

    tests.__doc__ = (
        f"The suite with Django {cell.django} and Wagtail {cell.wagtail}"
        + (" (what the package alone resolves to)" if cell.unpinned else "")
        + "."
    )
    nox.session(name=cell.name, python=cell.python)(tests)


for _cell in CELLS:
    _session(_cell)
