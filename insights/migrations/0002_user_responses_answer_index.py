from django.db import migrations

# Article health counts, per article, the questions it answered (matched[0].id of answered rows, by
# date): without this index each article's count reads the whole history. The expression is the
# one the ORM writes for Cast(KT("matched__0__id"), BigIntegerField()), so the planner matches it.
INDEX = "user_responses_answer_doc"


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0001_initial"),
        ("faq", "0004_article_views"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON user_responses "
            "((((matched #>> '{0,id}'::text[]))::bigint), created_at) WHERE answered",
            f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
