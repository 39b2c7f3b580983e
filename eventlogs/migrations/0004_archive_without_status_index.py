from django.db import migrations

# Archiving a row changes `status` and `archived_at` only. Once no index mentions either (the
# partial index eventlog_active_fired had `status` in its predicate), PostgreSQL can make that
# a HOT update: the new version goes on the same page, no index gets an entry. It needs room
# on the page for it. Every row of a page is archived in the same batch, so the old versions
# cannot be pruned in time: the page must hold each row twice. The archived version is 8 to
# 16 bytes longer (`archived` and a timestamp instead of NULL), so half the page is not quite
# enough. Measured (one UPDATE of 100,000 rows, share of HOT updates):
#
#   fillfactor            100   70    55    50      48     45     40
#   benchmark rows, 208 B 0 %   46 %  81 %  100 %   100 %  100 %  100 %
#   smaller rows,   152 B 0 %   42 %  76 %  95.6 %  100 %  100 %  100 %
#
# 45 leaves 8 % of the page beyond half, room for the growth of up to 52 rows a page (any
# event row is over 100 bytes). The table takes 2.2 times the pages of fillfactor 100 (5,883
# against 2,632 pages for 100,000 benchmark rows; 50 takes 2.0 times).
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
