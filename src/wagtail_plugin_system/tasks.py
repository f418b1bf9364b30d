"""Health checks as a task of Django's tasks framework.

:data:`check_plugins` runs the checks of the active and reserved instances (or
of some) where the project's task backend runs tasks: inline with the default
immediate backend, in a worker with a queueing one (``django-tasks-db``, a
Celery backend...). Scheduling is the project's: cron calling ``pluginhealth``,
django-crontask, Celery beat (see docs/monitoring.md).

The framework is ``django.tasks`` from Django 6.0, and the ``django-tasks``
backport (which Wagtail requires) before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core.settings import get_setting
from .health import check_instances, checkable_instances, outcome_summary
from .models import CheckSource

if TYPE_CHECKING:
    from django_tasks import task
else:
    try:  # Django 6.0 and newer
        from django.tasks import task
    except ImportError:  # Django 5.2: the backport
        from django_tasks import task

__all__ = ["backend_alias", "check_plugins", "enqueue_checks"]


@task()
def check_plugins(
    instance_ids: list[int] | None = None, plugin_type: str | None = None
) -> list[dict[str, Any]]:
    """Check the active and reserved instances (of ``plugin_type``), or ``instance_ids``.

    Returns one summary per instance (JSON): its id, name, type, ``status``
    (``passed``, ``failed``, ``timed_out``, ``unavailable``, or ``skipped``
    when it was checked less than ``CHECK_MIN_INTERVAL`` ago), message and times.
    """
    instances = checkable_instances(plugin_type=plugin_type, instance_ids=instance_ids)
    return [
        outcome_summary(instance, outcome)
        for instance, outcome in check_instances(instances, source=CheckSource.TASK)
    ]


def backend_alias() -> str:
    """``CHECK_TASK_BACKEND``: the alias of ``TASKS`` that enqueued checks go to."""
    return str(get_setting("CHECK_TASK_BACKEND"))


def enqueue_checks(
    *, plugin_type: str | None = None, instance_ids: list[int] | None = None
) -> list[tuple[int, str]]:
    """Enqueue one :data:`check_plugins` task per instance; ``(instance id, result id)`` pairs.

    One task per instance lets several workers check in parallel.
    """
    queued = check_plugins.using(backend=backend_alias())
    pairs = []
    for instance in checkable_instances(plugin_type=plugin_type, instance_ids=instance_ids):
        result = queued.enqueue(instance_ids=[instance.pk])
        pairs.append((int(instance.pk), str(result.id)))
    return pairs
