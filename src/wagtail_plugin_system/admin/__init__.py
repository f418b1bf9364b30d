"""The Wagtail admin for plugins: the "Plugins" menu, its views, forms, bulk actions and chooser.

Registered from ``wagtail_hooks.py``. Nothing here is imported by the lower
layers (models, selection, sync).
"""
