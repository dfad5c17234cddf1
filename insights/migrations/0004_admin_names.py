from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('insights', '0003_gap_dismissals'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='gapcluster',
            options={'ordering': ['-customers', '-questions', 'id'], 'verbose_name': 'content gap', 'verbose_name_plural': 'content gaps'},
        ),
    ]
