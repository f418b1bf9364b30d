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


def test_wheel_installs_into_a_fresh_wagtail_project(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")}

    def run(*args: str | Path, cwd: Path = tmp_path) -> str:
        result = subprocess.run(
            [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel))
    run(venv / "bin" / "wagtail", "start", "mysite")
    project = tmp_path / "mysite"
    app = project / "greetings"
    app.mkdir()
    for name, source in PLUGINS_APP.items():
        (app / name).write_text(textwrap.dedent(source))
    settings = project / "mysite" / "settings" / "base.py"
    text = settings.read_text()
    text = text.replace(
        "INSTALLED_APPS = [",
        'INSTALLED_APPS = [\n    "wagtail_plugin_system",\n    "wagtail.contrib.settings",',
        1,
    )
    text = text.replace("INSTALLED_APPS = [", 'INSTALLED_APPS = [\n    "greetings",', 1)
    key = run(
        python,
        "-c",
        "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())",
    )
    text += f"\nFIELD_ENCRYPTION_KEY = {key.strip()!r}\n"
    settings.write_text(text)

    manage = (python, "manage.py")
    migrate_output = run(*manage, "migrate", cwd=project)
    assert "Applying wagtail_plugin_system.0001_initial" in migrate_output
    assert "Nothing to do" in run(*manage, "pluginsync", "--check", cwd=project)
    greeting = run(*manage, "shell", "-v", "0", "-c", RESOLVE, cwd=project)
    assert greeting.strip() == "Good morning, editor"
    check_output = run(*manage, "check", cwd=project)
    assert "wagtail_plugin_system" not in check_output
