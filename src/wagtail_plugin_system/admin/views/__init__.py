"""Admin views: one module per job.

* :mod:`.instances`: listing, creating, editing and inspecting instances;
* :mod:`.implementations`: the first step of creating, choosing an implementation;
* :mod:`.health`: testing an instance;
* :mod:`.registry`: the read-only listings of types and implementations.
"""

from .health import HealthCheckView
from .implementations import ChooseImplementationView
from .instances import (
    InstanceCreateView,
    InstanceDeleteView,
    InstanceEditView,
    InstanceIndexView,
    InstanceInspectView,
)
from .registry import RegistryIndexView, RegistryInspectView

__all__ = [
    "ChooseImplementationView",
    "HealthCheckView",
    "InstanceCreateView",
    "InstanceDeleteView",
    "InstanceEditView",
    "InstanceIndexView",
    "InstanceInspectView",
    "RegistryIndexView",
    "RegistryInspectView",
]
