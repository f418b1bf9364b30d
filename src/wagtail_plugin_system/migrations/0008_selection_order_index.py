"""Store what selection orders by, so that one index finds and orders a type's instances."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Case, IntegerField, OuterRef, Subquery, Value, When


def fill(apps: Any, schema_editor: Any) -> None:
    instance = apps.get_model("wagtail_plugin_system", "PluginInstance")
    item = apps.get_model("wagtail_plugin_system", "PluginItem")
    instance.objects.using(schema_editor.connection.alias).update(
        selection_rank=Case(
            When(status="active", then=Value(0)),
            When(status="reserved", then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
        item_type_id=Subquery(
            item.objects.filter(pk=OuterRef("item_id")).values("plugin_type_id")[:1]
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_plugin_system", "0007_health_check_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="plugininstance",
            name="selection_rank",
            field=models.PositiveSmallIntegerField(
                default=0, editable=False, verbose_name="selection rank"
            ),
        ),
        migrations.AddField(
            model_name="plugininstance",
            name="item_type",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="wagtail_plugin_system.plugintype",
                verbose_name="plugin type",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="plugininstance",
            name="item_type",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="wagtail_plugin_system.plugintype",
                verbose_name="plugin type",
            ),
        ),
        migrations.AddIndex(
            model_name="plugininstance",
            index=models.Index(
                fields=["item_type", "selection_rank", "priority", "created_at", "id"],
                name="wps_instance_selection_order",
            ),
        ),
    ]
