"""A failover event stands for every repeat of the same failure within its minute."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_plugin_system", "0008_selection_order_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="pluginfailoverevent",
            name="count",
            field=models.PositiveIntegerField(db_default=1, default=1, verbose_name="times"),
        ),
        migrations.AddField(
            model_name="pluginfailoverevent",
            name="last_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last at"),
        ),
    ]
