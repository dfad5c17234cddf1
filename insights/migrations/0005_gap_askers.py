from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('insights', '0004_admin_names'),
    ]

    operations = [
        migrations.AlterField(
            model_name='gapcluster',
            name='customers',
            field=models.PositiveIntegerField(help_text='Distinct signed-in customers, plus each anonymous question.', verbose_name='askers'),
        ),
    ]
