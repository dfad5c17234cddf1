from __future__ import annotations

from django.conf import settings
from django.db import migrations, models


def one_vote_each(apps, schema_editor):
    """Votes stored before there was one per person: keep each person's latest, name its voter."""
    Feedback = apps.get_model("faq", "Feedback")
    seen: set[tuple] = set()
    for row in Feedback.objects.order_by("-created_at", "-pk").iterator():
        voter = f"user:{row.user_id}" if row.user_id else f"legacy:{row.pk}"
        key = ("response", row.response_id) if row.response_id else ("document", row.document_id, voter)
        if key in seen:
            row.delete()
            continue
        seen.add(key)
        Feedback.objects.filter(pk=row.pk).update(voter=voter)


class Migration(migrations.Migration):
    dependencies = [
        ("faq", "0004_article_views"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="feedback",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddField(
            model_name="feedback",
            name="voter",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(one_vote_each, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="feedback",
            constraint=models.UniqueConstraint(
                condition=models.Q(("response__isnull", False)), fields=("response",), name="feedback_one_per_answer"
            ),
        ),
        migrations.AddConstraint(
            model_name="feedback",
            constraint=models.UniqueConstraint(
                condition=models.Q(("response__isnull", True), models.Q(("voter", ""), _negated=True)),
                fields=("document", "voter"),
                name="feedback_one_per_article_and_voter",
            ),
        ),
    ]
