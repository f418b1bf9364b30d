"""The test project in a new process, as a deploy pipeline or a shell starts it."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository's root: the directory new processes of the test project start in.
ROOT = Path(__file__).resolve().parent.parent


def sqlite_project_env(database: Path, **extra: str) -> dict[str, str]:
    """The environment of a new process of the test project on the SQLite file ``database``.

    Nothing is inherited but ``PYTHONPATH``, which finds the package under test where it
    is not installed (a source tree on the path); ``extra`` adds variables.
    """
    inherited = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}
    return {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "WPS_SQLITE_NAME": str(database),
        "PATH": "/usr/bin:/bin",
        **inherited,
        **extra,
    }
