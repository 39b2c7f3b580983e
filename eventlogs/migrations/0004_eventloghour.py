import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("eventlogs", "0003_lifecyclemarks"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="EventLogHour",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("trigger_uuid", models.UUIDField(help_text="The trigger's id, as in the events' snapshot.")),
                ("hour", models.DateTimeField(help_text="The start of the UTC hour.")),
                ("total", models.PositiveIntegerField()),
                ("test", models.PositiveIntegerField()),
                ("last_fired_at", models.DateTimeField()),
                ("trigger_name", models.CharField(blank=True, max_length=200)),
                ("trigger_type", models.CharField(max_length=16)),
                (
                    "owner",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["hour"], name="eventloghour_hour")],
                "constraints": [
                    models.UniqueConstraint(fields=("owner", "hour", "trigger_uuid"), name="eventloghour_one_per_hour")
                ],
            },
        ),
    ]
