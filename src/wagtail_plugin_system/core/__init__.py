"""The core: what a plugin is, and which plugins this process's code provides.

* :mod:`.contracts`: the classes developers subclass (types, items, configurations);
* :mod:`.registry`: the process-wide registry of types and items;
* :mod:`.exceptions`: every error the package raises on purpose;
* :mod:`.settings`: the ``WAGTAIL_PLUGIN_SYSTEM`` setting and its defaults;
* :mod:`.ids` and :mod:`.redact`: parsing ids from the outside world, and keeping
  configuration values out of messages.

Nothing here imports a model, a database module or Wagtail, and nothing needs
Django's settings to be configured until a setting is actually read. The
public names are re-exported by :mod:`wagtail_plugin_system`.
"""
