"""Test sessions per supported Wagtail line (Django 5.2 on both): ``nox -s tests``.

``make test`` runs the suite in its own virtualenv (the newest Wagtail) and then
the other lines through these sessions, each on SQLite and on a throwaway
PostgreSQL cluster (``tests/postgres.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

WAGTAIL_LINES = {
    "8.0": "wagtail>=8.0,<8.1",
    "7.4": "wagtail>=7.4,<7.5",
}
#: Run once, by the main run: building the wheel and driving the browser.
RUN_ONCE = "not packaging and not browser"


@nox.session(python=False)
def lines(session: nox.Session) -> None:
    """List the supported Wagtail lines."""
    session.log(", ".join(WAGTAIL_LINES))


@nox.session
@nox.parametrize("wagtail", list(WAGTAIL_LINES))
def tests(session: nox.Session, wagtail: str) -> None:
    """The suite on SQLite, then on PostgreSQL, with one Wagtail line."""
    session.install("-e", ".[test]", WAGTAIL_LINES[wagtail], "Django>=5.2,<5.3")
    session.run("python", "-c", "import wagtail; print('wagtail', wagtail.__version__)")
    pytest = ["python", "-m", "pytest", "-p", "no:cacheprovider", "-m", RUN_ONCE, *session.posargs]
    session.run(*pytest)
    check = subprocess.run(
        [sys.executable, "tests/postgres.py", "available"], capture_output=True, text=True
    )
    reason = (check.stdout + check.stderr).strip()
    if check.returncode == 0:
        session.run("python", "tests/postgres.py", "run", "--", *pytest)
    elif os.environ.get("CI") == "true":
        session.error(f"PostgreSQL is required when CI=true: {reason}")
    else:
        session.log(f"Skipping the PostgreSQL run: {reason}")
