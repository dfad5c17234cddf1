from __future__ import annotations

from django.db import migrations


def create_vector_extension(apps, schema_editor) -> None:
    from faq.dbcheck import ensure_extension

    ensure_extension(schema_editor.connection)


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []

    # pgvector's column type and HNSW index need the extension before any table uses them.
    operations = [migrations.RunPython(create_vector_extension, migrations.RunPython.noop)]
