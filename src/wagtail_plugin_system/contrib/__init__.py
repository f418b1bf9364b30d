"""Optional integrations built on the package's public API, each an app of its own.

Add one to ``INSTALLED_APPS`` to use it (for example
``"wagtail_plugin_system.contrib.mail"``). Nothing outside ``contrib`` imports
these modules.
"""
