"""django-plugin-system's own test suite, run against ``wagtail_plugin_system.compat``.

The 2.0.9 sdist is downloaded from PyPI into a throwaway folder, its package
is deleted, ``django_plugin_system`` is replaced by
``wagtail_plugin_system.compat`` in its tests (and nowhere else), and pytest
runs them in a subprocess with settings that install only our app.

Its tests use Python 3.12 syntax, so they run with a Python >= 3.12: this
interpreter when it is one, otherwise another one (``WPS_SEED_PYTHON``,
``python3.14``/``python3.13``/``python3.12`` on the PATH, or a version pyenv
has installed) in a fresh virtualenv with this package installed.

Outside CI the test skips, saying why, when the sdist cannot be fetched or no
such Python exists; with ``CI=true`` it fails instead.

Expected results, 13 tests:

* as written (the registry is shared by all tests, as it is for
  django-plugin-system itself, which passes 11): 10 pass.
  ``test_sync_does_not_create_default_instance_for_configurable_item`` and
  ``test_use_plugin_instance`` see items registered by earlier tests (the
  former fails against django-plugin-system too; the latter passes there only
  because the prune test cleared its private registry dicts);
* with the registry isolated per test: 12 pass.

Either way ``test_prune_removes_unregistered_items_after_sync`` fails, on
purpose: it clears django-plugin-system's private registry dicts and expects
prune to delete configured instances, which our prune never does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = "django-plugin-system==2.0.9"
STRICT = os.environ.get("CI") == "true"

pytestmark = pytest.mark.packaging

PRUNE = "test_register_and_sync.py::test_prune_removes_unregistered_items_after_sync"
SHARED_REGISTRY_FAILURES = {
    "test_register_and_sync.py::test_sync_does_not_create_default_instance_for_configurable_item",
    "test_register_and_sync.py::test_use_plugin_instance",
}

SETTINGS = """
SECRET_KEY = "seed-suite-only"
FIELD_ENCRYPTION_KEY = "bWV5yGk3ufkfCw4NHrdq0zO0tfvBfrsH0_Ahbp1kb3g="
INSTALLED_APPS = [
    "wagtail_plugin_system",
    "wagtail.contrib.settings",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "wps_seed_urls"
STATIC_URL = "/static/"
WAGTAIL_PLUGIN_SYSTEM = {"SYNC_AFTER_MIGRATE": False}
"""

# Fails the run if anything imported django-plugin-system itself; optionally isolates
# the registry per test.
CONFTEST = """
import os
import sys

import pytest


@pytest.fixture(autouse=True)
def _registry_per_test():
    if os.environ.get("WPS_ISOLATE_REGISTRY") != "1":
        yield
        return
    from wagtail_plugin_system import registry

    with registry.isolated():
        yield


def pytest_sessionfinish(session, exitstatus):
    if "django_plugin_system" in sys.modules:
        print("django_plugin_system was imported: the run is not against compat")
        session.exitstatus = 3
"""


def _unavailable(reason: str) -> None:
    if STRICT:
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


def _pyenv_pythons() -> list[str]:
    """The interpreters of the CPython versions >= 3.12 that pyenv has installed, newest first."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return []
    try:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=60)
        listed = subprocess.run(
            [pyenv, "versions", "--bare"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    versions = [v.strip() for v in listed.stdout.splitlines() if re.match(r"3\.1[2-9]", v.strip())]
    base = Path(root.stdout.strip()) / "versions"
    return [str(base / version / "bin" / "python3") for version in sorted(versions, reverse=True)]


def _seed_python() -> str | None:
    candidates = [os.environ.get("WPS_SEED_PYTHON", "")]
    if sys.version_info >= (3, 12):
        candidates.insert(0, sys.executable)
    candidates += [shutil.which(name) or "" for name in ("python3.14", "python3.13", "python3.12")]
    candidates += _pyenv_pythons()
    check = "import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)"
    for candidate in filter(None, candidates):
        try:
            ok = subprocess.run([candidate, "-c", check], capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if ok.returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def seed_suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed's tests with the sed applied, settings written, its package removed."""
    download = tmp_path_factory.mktemp("sdist")
    fetched = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--disable-pip-version-check",
            "--dest",
            str(download),
            SEED,
        ],
        capture_output=True,
        text=True,
    )
    archives = list(download.glob("django_plugin_system-*.tar.gz"))
    if fetched.returncode != 0 or not archives:
        _unavailable(f"Cannot download the {SEED} sdist from PyPI: {fetched.stderr[-500:]}")
    with tarfile.open(archives[0]) as archive:
        archive.extractall(download, filter="data")
    (tree,) = (path for path in download.iterdir() if path.is_dir())
    shutil.rmtree(tree / "src")
    for test_file in (tree / "tests").glob("*.py"):
        text = test_file.read_text(encoding="utf-8")
        test_file.write_text(
            text.replace("django_plugin_system", "wagtail_plugin_system.compat"), encoding="utf-8"
        )
    (tree / "wps_seed_settings.py").write_text(SETTINGS, encoding="utf-8")
    (tree / "wps_seed_urls.py").write_text("urlpatterns = []\n", encoding="utf-8")
    (tree / "conftest.py").write_text(textwrap.dedent(CONFTEST), encoding="utf-8")
    return tree


@pytest.fixture(scope="module")
def python(seed_suite: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python >= 3.12 that imports this package, pytest and pytest-django."""
    found = _seed_python()
    if found is None:
        _unavailable(
            "django-plugin-system's tests need Python >= 3.12 and none was found; "
            "set WPS_SEED_PYTHON to one"
        )
    assert found is not None
    if found == sys.executable:
        return found
    venv = tmp_path_factory.mktemp("seed-venv")
    subprocess.run([found, "-m", "venv", str(venv)], check=True, capture_output=True)
    venv_python = str(venv / "bin" / "python")
    installed = subprocess.run(
        [
            venv_python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(ROOT),
            "pytest>=8",
            "pytest-django>=4.9",
        ],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    return venv_python


def _run(python: str, tree: Path, *, isolate: bool) -> tuple[dict[str, str], str]:
    report = tree / f"report-{int(isolate)}.xml"
    env = {**os.environ, "WPS_ISOLATE_REGISTRY": "1" if isolate else "0"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    run = subprocess.run(
        [
            python,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--ds=wps_seed_settings",
            f"--junitxml={report}",
            "-q",
            "tests",
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    assert "django_plugin_system was imported" not in run.stdout
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        name = f"{module}.py::{case.get('name')}"
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        outcomes[name] = "failed" if failed else "skipped" if skipped else "passed"
    return outcomes, run.stdout[-6000:]


def test_seed_suite_as_written(python: str, seed_suite: Path) -> None:
    outcomes, output = _run(python, seed_suite, isolate=False)
    assert len(outcomes) == 13, output
    failed = {name for name, outcome in outcomes.items() if outcome != "passed"}
    assert failed == {PRUNE, *SHARED_REGISTRY_FAILURES}, output
    assert sum(outcome == "passed" for outcome in outcomes.values()) == 10


def test_seed_suite_with_a_registry_per_test(python: str, seed_suite: Path) -> None:
    outcomes, output = _run(python, seed_suite, isolate=True)
    assert len(outcomes) == 13, output
    failed = {name for name, outcome in outcomes.items() if outcome != "passed"}
    assert failed == {PRUNE}, output
