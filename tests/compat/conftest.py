"""django-plugin-system's rows, for the importer's tests (the command's tests make them)."""

from tests.management.commands.test_pluginimport import plugins, seed_rows

__all__ = ["plugins", "seed_rows"]
