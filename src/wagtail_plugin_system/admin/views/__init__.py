"""Admin views: one module per job.

* :mod:`.instances`: listing, creating, editing and inspecting instances;
* :mod:`.implementations`: the first step of creating, choosing an implementation;
* :mod:`.revisions`: comparing revisions without showing secrets;
* :mod:`.health`: testing an instance;
* :mod:`.registry`: the read-only listings of types and implementations.
"""

from .health import HealthCheckView
from .implementations import ChooseImplementationView
from .instances import (
    InstanceCreateView,
    InstanceEditView,
    InstanceIndexView,
    InstanceInspectView,
    InstanceRevertView,
)
from .registry import RegistryIndexView, RegistryInspectView

__all__ = [
    "ChooseImplementationView",
    "HealthCheckView",
    "InstanceCreateView",
    "InstanceEditView",
    "InstanceIndexView",
    "InstanceInspectView",
    "InstanceRevertView",
    "RegistryIndexView",
    "RegistryInspectView",
]
