import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# TRUNCATE removes events without a row-level trace, so neither the rollup pass nor the
# INSERT trigger of 0003 would notice: the hours counted from them would outlive them. After
# a TRUNCATE of the events, the rollup is emptied and its mark goes back to the beginning.
CREATE = """
CREATE FUNCTION eventlogs_forget_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM eventlogs_eventloghour;
    UPDATE eventlogs_lifecyclemarks SET rolled_up_through = '0001-01-01 00:00:00+00' WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER eventlogs_forget_rollup
    AFTER TRUNCATE ON eventlogs_eventlog
    FOR EACH STATEMENT EXECUTE FUNCTION eventlogs_forget_rollup();
"""
DROP = """
DROP TRIGGER IF EXISTS eventlogs_forget_rollup ON eventlogs_eventlog;
DROP FUNCTION IF EXISTS eventlogs_forget_rollup();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("eventlogs", "0004_archive_without_status_index"),
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
        migrations.RunSQL(CREATE, DROP),
    ]
