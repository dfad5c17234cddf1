from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("faq", "0005_one_vote_per_person"),
    ]

    operations = [
        migrations.AddField(
            model_name="faqdocument",
            name="featured",
            field=models.BooleanField(
                default=False, help_text="Shown under Popular on the home page while there is little reading history."
            ),
        ),
    ]
