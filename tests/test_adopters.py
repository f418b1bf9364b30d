"""A project that installs the package, with registered plugins and default settings.

Its own transactional and live-server tests must work: Django's ``flush`` after
each of them emits ``post_migrate``, which runs the package's sync.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def test_transactional_and_live_server_tests_pass_in_an_adopters_project() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings_defaults"}
    # The subprocess makes its own test database, never this run's: on PostgreSQL its name
    # comes from PGDATABASE, which would otherwise be the same.
    env.pop("WPS_SQLITE_TEST_NAME", None)
    env["PGDATABASE"] = "wps_adopter_project"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "--ds=tests.settings_defaults",
            "tests/adopter/transactional_suite.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout
