"""Article vectors are made from the answer without its Markdown links (faq.markdown.embedding_text):
articles with links are embedded again, so an upgrade needs no manual step. Articles without links
keep their vectors (their text is unchanged); an empty help centre costs nothing."""

from __future__ import annotations

from django.db import migrations


def reembed_linked_articles(apps, schema_editor) -> None:
    from faq.stale_vectors import reembed_stale

    documents = apps.get_model("faq", "FaqDocument")
    if not documents.objects.filter(answer__contains="](").exists():
        return  # nothing links: no vector changes, and the model need not load
    embedded, failed = reembed_stale(documents)
    if embedded or failed:
        # Its own line: `serve` migrates quietly, and `migrate` prints " OK" after it.
        print(f"\n  Embedded {embedded} article(s) again without their links; {failed} failed.")


class Migration(migrations.Migration):
    dependencies = [("faq", "0008_known_phrasings")]

    operations = [migrations.RunPython(reembed_linked_articles, migrations.RunPython.noop, elidable=True)]
