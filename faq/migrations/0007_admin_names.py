from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('faq', '0006_featured_articles'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='faqdocument',
            options={'ordering': ['question'], 'verbose_name': 'FAQ article', 'verbose_name_plural': 'FAQ articles'},
        ),
    ]
