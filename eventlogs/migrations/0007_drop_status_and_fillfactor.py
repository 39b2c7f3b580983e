from django.db import migrations

# The backfill trigger of 0003, reading `archived_at` instead of the dropped `status`, and
# judging "old" by an hour instead of 15 minutes (eventlogs.models.BACKFILL_GRACE): a web
# host whose clock runs minutes behind the database's must not make every API fire a
# backfill, each rewriting the marks row and holding back the archive mark.
NOTE_BACKFILL = """
CREATE OR REPLACE FUNCTION eventlogs_note_backfill() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    oldest timestamptz;
    oldest_active timestamptz;
BEGIN
    SELECT min(fired_at), min(fired_at) FILTER (WHERE archived_at IS NULL)
      INTO oldest, oldest_active
      FROM inserted
     WHERE fired_at < statement_timestamp() - interval '%s';
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
"""
NOTE_BACKFILL_AFTER = NOTE_BACKFILL % "1 hour"
NOTE_BACKFILL_BEFORE = NOTE_BACKFILL.replace("archived_at IS NULL", "status = 'active'") % "15 minutes"

# Archiving is an ordinary UPDATE again: the rows are packed full, as PostgreSQL's default.
# (Fillfactor 45 left room for a HOT update of every row, at about twice the table's bytes;
# docs/design/lifecycle.md has the steady-state figures.) Pages written before keep their
# room until rewritten or emptied by retention.
RESET_FILLFACTOR = "ALTER TABLE eventlogs_eventlog RESET (fillfactor)"
SET_FILLFACTOR = "ALTER TABLE eventlogs_eventlog SET (fillfactor = 45)"


class Migration(migrations.Migration):
    dependencies = [
        ("eventlogs", "0006_eventlog_idempotency_body_sha256"),
    ]

    operations = [
        migrations.RunSQL(NOTE_BACKFILL_AFTER, NOTE_BACKFILL_BEFORE),
        # `archived_at` says the same: set by the archive job, NULL until then.
        migrations.RemoveField(model_name="eventlog", name="status"),
        migrations.RunSQL(RESET_FILLFACTOR, SET_FILLFACTOR),
    ]
