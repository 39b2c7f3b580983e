from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("triggers", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(
            model_name="trigger",
            old_name="fire_count",
            new_name="scheduled_fire_count",
        ),
    ]
