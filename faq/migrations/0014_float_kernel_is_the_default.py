"""The float kernel is the default again (settings.LOCAL_EMBEDDING_KERNEL): articles and known
phrasings embedded by the int8 kernel are embedded again, as faq.0013 did the other way, so an
upgrade needs no manual step and search never compares vectors of the two. With
LOCAL_EMBEDDING_KERNEL=int8 nothing changes."""

from __future__ import annotations

import importlib

from django.db import migrations

INT8_KERNEL = "all-MiniLM-L6-v2-int8-dq"
FLOAT_KERNEL = "all-MiniLM-L6-v2-int8"


def reembed_int8_kernel_vectors(apps, schema_editor) -> None:
    earlier = importlib.import_module("faq.migrations.0013_int8_kernel_vectors")
    earlier.reembed_vectors_of(apps, INT8_KERNEL, FLOAT_KERNEL)


class Migration(migrations.Migration):
    dependencies = [("faq", "0013_int8_kernel_vectors")]

    operations = [migrations.RunPython(reembed_int8_kernel_vectors, migrations.RunPython.noop, elidable=True)]
