from django.db import migrations

# Archiving a row changes `status` and `archived_at` only. Once no index mentions either (the
# partial index eventlog_active_fired had `status` in its predicate), PostgreSQL can make that
# a HOT update: the new version goes on the same page, no index gets an entry. It needs room
# on the page for it. An archived version is a little longer than the active one (`archived`
# and a timestamp instead of NULL), so every row of a page has room for its archived version
# only if inserts leave at least half the page free: fillfactor 50 (measured on the
# benchmark's rows, docs/benchmarks.md: 50 gives 100 % HOT updates; the default 100 gives
# none, 70 about half). The table's pages double; the delete job prunes them after 48 h.
#
# The setting applies to pages written from now on; pages already full keep their rows until
# the table is rewritten (VACUUM FULL, CLUSTER, pg_repack). Their events are archived the old
# way (an entry in every index) and deleted within 48 h, after which every page has the room.
SET_FILLFACTOR = "ALTER TABLE eventlogs_eventlog SET (fillfactor = 45)"
RESET_FILLFACTOR = "ALTER TABLE eventlogs_eventlog RESET (fillfactor)"


class Migration(migrations.Migration):
    dependencies = [
        ("eventlogs", "0003_lifecyclemarks"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="eventlog",
            name="eventlog_active_fired",
        ),
        migrations.RunSQL(SET_FILLFACTOR, RESET_FILLFACTOR),
    ]
