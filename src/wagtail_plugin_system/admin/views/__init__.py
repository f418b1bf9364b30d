"""Admin views: one module per job (named apart from the services they show).

* :mod:`.instance_views`: listing, inspecting and deleting instances;
* :mod:`.instance_edit_views`: creating and editing instances;
* :mod:`.deleted_instance`: the pages of a deleted instance say so;
* :mod:`.implementations`: the first step of creating, choosing an implementation;
* :mod:`.revision_views`: the history, and comparing revisions without showing secrets;
* :mod:`.health_views`: testing an instance;
* :mod:`.registry_views`: the read-only listings of types and implementations.
"""

from .health_views import HealthCheckView
from .implementations import ChooseImplementationView
from .instance_views import (
    InstanceCreateView,
    InstanceDeleteView,
    InstanceEditView,
    InstanceIndexView,
    InstanceInspectView,
    InstanceRevertView,
)
from .registry_views import RegistryIndexView, RegistryInspectView

__all__ = [
    "ChooseImplementationView",
    "HealthCheckView",
    "InstanceCreateView",
    "InstanceDeleteView",
    "InstanceEditView",
    "InstanceIndexView",
    "InstanceInspectView",
    "InstanceRevertView",
    "RegistryIndexView",
    "RegistryInspectView",
]
