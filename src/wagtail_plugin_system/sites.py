"""The per-site choices of plugin instances, as selection reads them.

Editors set them under **Settings > Plugins**
(:class:`~wagtail_plugin_system.models.PluginSiteSettings`);
``get_plugin_instance(T, site=...)`` and ``get_plugin_instance(T, request=...)``
read them through :func:`site_choices`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import PluginSiteChoice

if TYPE_CHECKING:
    from django.http import HttpRequest
    from wagtail.models import Site

__all__ = ["site_choices"]

#: Attribute of the request that holds the site's choices, read once per request.
_REQUEST_CACHE = "_wagtail_plugin_system_site_choices"


def site_choices(*, site: Site | None = None, request: HttpRequest | None = None) -> dict[str, Any]:
    """The site's chosen instances by type name; one query, cached on the request per site.

    Returns ``{type name: PluginInstance}`` with each instance's item, type and
    circuit loaded.
    """
    if site is None and request is not None:
        from wagtail.models import Site as SiteModel

        site = SiteModel.find_for_request(request)
    site_pk = site.pk if site is not None else None
    per_site: dict[Any, dict[str, Any]] | None = None
    if request is not None:
        per_site = getattr(request, _REQUEST_CACHE, None)
        if per_site is None:
            per_site = {}
            setattr(request, _REQUEST_CACHE, per_site)
        if site_pk in per_site:
            return per_site[site_pk]
    choices: dict[str, Any] = {}
    if site is not None:
        rows = PluginSiteChoice.objects.filter(setting__site=site).select_related(
            "plugin_type", "instance__item__plugin_type", "instance__circuit"
        )
        choices = {row.plugin_type.name: row.instance for row in rows}
    if per_site is not None:
        per_site[site_pk] = choices
    return choices
