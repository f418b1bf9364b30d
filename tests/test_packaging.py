"""The built wheel, installed into a clean virtualenv and a fresh ``wagtail start`` project.

This is what a user does after ``pip install wagtail-plugin-system``: add the app,
set the key, declare and register plugins, migrate, sync, and resolve a plugin.
A packaging mistake (a missing migration, locale file or ``py.typed``) fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("wagtail_plugin_system-*.whl")
    return built


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    package = "wagtail_plugin_system/"
    for required in (
        "py.typed",
        "migrations/__init__.py",
        "migrations/0001_initial.py",
        "management/commands/pluginsync.py",
        "management/commands/pluginrotatekeys.py",
        "locale/en/LC_MESSAGES/django.po",
        "locale/en/LC_MESSAGES/django.mo",
        "locale/fr/LC_MESSAGES/django.po",
        "locale/fr/LC_MESSAGES/django.mo",
        "locale/de/LC_MESSAGES/django.po",
        "locale/de/LC_MESSAGES/django.mo",
        "templates/wagtail_plugin_system/choose_implementation.html",
        "templates/wagtail_plugin_system/icons/plug.svg",
        "wagtail_hooks.py",
    ):
        assert package + required in names, required
    assert not [name for name in names if name.startswith(("tests/", "sandbox/"))]
    metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Name: wagtail-plugin-system" in text
    assert "Requires-Dist: django-encrypted-model-fields" in text


PLUGINS_APP = {
    "__init__.py": "",
    "plugins.py": """
        from abc import abstractmethod

        from django import forms

        from wagtail_plugin_system import BasePluginItem, BasePluginType, PluginConfiguration


        class GreeterType(BasePluginType):
            name = "greeter"

            @abstractmethod
            def greet(self, who): ...


        class GreeterForm(forms.Form):
            greeting = forms.CharField()
            api_key = forms.CharField(widget=forms.PasswordInput)


        class GreeterConfiguration(PluginConfiguration):
            form_class = GreeterForm


        class PoliteGreeter(BasePluginItem):
            name = "polite"
            plugin_type = GreeterType
            configuration = GreeterConfiguration

            def greet(self, who):
                return f"{self.config['greeting']}, {who}"
    """,
    "apps.py": """
        from django.apps import AppConfig


        class GreetingsConfig(AppConfig):
            name = "greetings"

            def ready(self):
                from wagtail_plugin_system import register_plugin_item

                from .plugins import PoliteGreeter

                register_plugin_item(PoliteGreeter)
    """,
}

RESOLVE = """
from wagtail_plugin_system import PluginInstance, get_plugin_instance
from greetings.plugins import PoliteGreeter

PluginInstance.objects.create_instance(
    PoliteGreeter, name="Polite", config={"greeting": "Good morning", "api_key": "k-123"}
)
print(get_plugin_instance("greeter").greet("editor"))
"""


ADMIN = """
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from wagtail_plugin_system import PluginInstance

user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
client = Client()
client.force_login(user)
home = client.get(reverse("wagtailadmin_home"))
listing = client.get(reverse(PluginInstance.snippet_viewset.get_url_name("list")))
print(home.status_code, listing.status_code)
print("/admin/plugins/instances/" in home.content.decode())
print("Polite" in listing.content.decode())
"""


class Project:
    """A fresh ``wagtail start`` project in a virtualenv of its own."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.venv = tmp_path / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        self.python = self.venv / "bin" / "python"
        self.dir = tmp_path / "mysite"
        self.env = {
            k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")
        }

    def run(self, *args: str | Path, cwd: Path | None = None) -> str:
        result = subprocess.run(
            [str(a) for a in args],
            cwd=cwd or self.tmp_path,
            env=self.env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def pip_install(self, *args: str | Path) -> None:
        self.run(self.python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args)

    def start(self) -> None:
        self.run(self.venv / "bin" / "wagtail", "start", "mysite")

    def manage(self, *args: str) -> str:
        return self.run(self.python, "manage.py", *args, cwd=self.dir)

    def versions(self) -> str:
        return self.run(
            self.python,
            "-c",
            "import django, wagtail; print(django.__version__, wagtail.__version__)",
        ).strip()

    def add_plugins_and_settings(self) -> None:
        app = self.dir / "greetings"
        app.mkdir()
        for name, source in PLUGINS_APP.items():
            (app / name).write_text(textwrap.dedent(source))
        settings = self.dir / "mysite" / "settings" / "base.py"
        text = settings.read_text()
        text = text.replace(
            "INSTALLED_APPS = [",
            'INSTALLED_APPS = [\n    "wagtail_plugin_system",\n    "wagtail.contrib.settings",',
            1,
        )
        text = text.replace("INSTALLED_APPS = [", 'INSTALLED_APPS = [\n    "greetings",', 1)
        key = self.run(
            self.python,
            "-c",
            "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())",
        )
        text += f"\nFIELD_ENCRYPTION_KEY = {key.strip()!r}\n"
        settings.write_text(text)

    def check_it_works(self) -> None:
        """Migrate, sync, resolve a plugin, pass the system checks, load the admin pages."""
        migrate_output = self.manage("migrate")
        assert "Applying wagtail_plugin_system.0001_initial" in migrate_output
        assert "Nothing to do" in self.manage("pluginsync", "--check")
        greeting = self.manage("shell", "-v", "0", "-c", RESOLVE)
        assert greeting.strip() == "Good morning, editor"
        check_output = self.manage("check")
        assert "wagtail_plugin_system" not in check_output
        admin = self.manage("shell", "-v", "0", "-c", ADMIN).split()
        assert admin == ["200", "200", "True", "True"], admin


NEW_PROJECT_PYTHON = (3, 12)


@pytest.mark.skipif(
    sys.version_info >= NEW_PROJECT_PYTHON,
    reason="on Python 3.12 or newer the wheel is installed with a new project's own "
    "requirements (next test), which resolve to the same Django and Wagtail",
)
def test_wheel_installs_into_a_fresh_wagtail_project(wheel: Path, tmp_path: Path) -> None:
    """The wheel alone, with the Django and Wagtail that its own dependencies resolve to.

    On Python 3.11 that is what a user of a new Wagtail 8.0 project must do, since the
    project's requirements ask for Django 6.1.
    """
    project = Project(tmp_path)
    project.pip_install(wheel)
    project.start()
    project.add_plugins_and_settings()
    project.check_it_works()


@pytest.mark.skipif(
    sys.version_info < NEW_PROJECT_PYTHON,
    reason="the requirements of a new Wagtail 8.0 project ask for Django 6.1, which needs "
    "Python 3.12 or newer (the Python 3.13 runs of 'make test' run this test)",
)
def test_wheel_installs_with_a_new_projects_own_requirements(wheel: Path, tmp_path: Path) -> None:
    """What a new user does: ``pip install wagtail``, ``wagtail start``, then add the wheel.

    The project's ``requirements.txt`` is kept as ``wagtail start`` wrote it, and is
    installed in one go with the wheel: pip must find versions that satisfy both.
    """
    project = Project(tmp_path)
    project.pip_install("wagtail")
    project.start()
    requirements = project.dir / "requirements.txt"
    written = requirements.read_text()
    project.pip_install("-r", requirements, wheel)
    assert requirements.read_text() == written
    print("requirements.txt:", " ".join(written.split()), "->", project.versions())
    project.add_plugins_and_settings()
    project.check_it_works()
