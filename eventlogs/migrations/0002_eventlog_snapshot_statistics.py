from django.db import migrations

# GET /event_logs/aggregated groups by (trigger_uuid, trigger_name, trigger_type). Without
# extended statistics PostgreSQL multiplies the three columns' distinct counts, so once the
# table holds many triggers it expects millions of groups, gives up on a hash aggregate and
# sorts the owner's rows instead, spilling to disk (measured: 548 ms instead of 218 ms for
# 1M rows among 200k triggers). The statistics tell it that name and type follow from the
# trigger's id, so the estimate is the number of triggers.
CREATE = """
    CREATE STATISTICS IF NOT EXISTS eventlog_trigger_snapshot_stats (ndistinct, dependencies)
    ON trigger_uuid, trigger_name, trigger_type FROM eventlogs_eventlog
"""
DROP = "DROP STATISTICS IF EXISTS eventlog_trigger_snapshot_stats"


class Migration(migrations.Migration):
    dependencies = [
        ("eventlogs", "0001_initial"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
