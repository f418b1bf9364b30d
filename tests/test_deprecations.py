"""Deprecation warnings that our own code triggers fail the tests, on every Django and Wagtail.

``pyproject.toml`` turns ``DeprecationWarning`` and ``PendingDeprecationWarning``
attributed to ``wagtail_plugin_system`` modules into errors. Django's
``RemovedInDjango*Warning`` and Wagtail's ``RemovedInWagtail*Warning`` classes of the
installed versions must all be caught by that, and other modules' warnings must not.
"""

from __future__ import annotations

import warnings

import django.utils.deprecation
import pytest
import wagtail.utils.deprecation

CLASSES = sorted(
    (
        getattr(module, name)
        for module in (django.utils.deprecation, wagtail.utils.deprecation)
        for name in dir(module)
        if name.startswith(("RemovedInDjango", "RemovedInWagtail"))
    ),
    key=lambda cls: cls.__name__,
)


def test_there_are_classes_to_check() -> None:
    names = [cls.__name__ for cls in CLASSES]
    assert any(name.startswith("RemovedInDjango") for name in names), names
    assert any(name.startswith("RemovedInWagtail") for name in names), names


@pytest.mark.parametrize("category", CLASSES, ids=lambda cls: cls.__name__)
def test_raised_from_our_modules_is_an_error(category: type[Warning]) -> None:
    with pytest.raises(category):
        warnings.warn_explicit(
            "deprecated", category, "sync.py", 1, module="wagtail_plugin_system.sync"
        )


@pytest.mark.parametrize("category", CLASSES, ids=lambda cls: cls.__name__)
def test_raised_from_other_modules_is_not(category: type[Warning]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn_explicit("deprecated", category, "other.py", 1, module="other.module")
    assert [warning.category for warning in caught] == [category]
