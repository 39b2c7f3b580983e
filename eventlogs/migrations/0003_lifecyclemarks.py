import datetime

from django.db import migrations, models

# Keeps eventlogs_lifecyclemarks true for every INSERT, whichever path writes the events
# (the API, the scheduler, a restore, an import, raw SQL): when a statement inserts events
# fired more than 15 minutes before it ran (eventlogs.models.BACKFILL_GRACE), both marks move
# back to the oldest of them and `backfills` counts the statement. One call per statement,
# not per row, so a bulk load of a million old events updates the row once; an ordinary
# firing inserts nothing old and only pays for min() over its one row. The upsert recreates
# the row if `manage.py flush` removed it.
CREATE = """
CREATE FUNCTION eventlogs_note_backfill() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    oldest timestamptz;
    oldest_active timestamptz;
BEGIN
    SELECT min(fired_at), min(fired_at) FILTER (WHERE status = 'active')
      INTO oldest, oldest_active
      FROM inserted
     WHERE fired_at < statement_timestamp() - interval '15 minutes';
    IF oldest IS NOT NULL THEN
        INSERT INTO eventlogs_lifecyclemarks AS marks (id, archived_through, rolled_up_through, backfills)
        VALUES (1, '0001-01-01 00:00:00+00', '0001-01-01 00:00:00+00', 1)
        ON CONFLICT (id) DO UPDATE SET
            archived_through = LEAST(marks.archived_through, COALESCE(oldest_active, marks.archived_through)),
            rolled_up_through = LEAST(marks.rolled_up_through, date_trunc('hour', oldest, 'UTC')),
            backfills = marks.backfills + 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER eventlogs_note_backfill
    AFTER INSERT ON eventlogs_eventlog
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION eventlogs_note_backfill();
INSERT INTO eventlogs_lifecyclemarks (id, archived_through, rolled_up_through, backfills)
VALUES (1, '0001-01-01 00:00:00+00', '0001-01-01 00:00:00+00', 0)
ON CONFLICT (id) DO NOTHING;
"""
DROP = """
DROP TRIGGER IF EXISTS eventlogs_note_backfill ON eventlogs_eventlog;
DROP FUNCTION IF EXISTS eventlogs_note_backfill();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("eventlogs", "0002_eventlog_snapshot_statistics"),
    ]

    operations = [
        migrations.CreateModel(
            name="LifecycleMarks",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                (
                    "archived_through",
                    models.DateTimeField(default=datetime.datetime(1, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                ),
                (
                    "rolled_up_through",
                    models.DateTimeField(default=datetime.datetime(1, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                ),
                ("backfills", models.BigIntegerField(default=0)),
            ],
            options={
                "verbose_name_plural": "lifecycle marks",
                "constraints": [models.CheckConstraint(condition=models.Q(("id", 1)), name="lifecyclemarks_one_row")],
            },
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
