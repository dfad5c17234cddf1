"""Articles' vectors, and new history rows', are kept in their own rows instead of TOAST.

Why: a 384-dimension vector is 1,540 bytes and pgvector stores it EXTERNAL, so any row past
PostgreSQL's default 2,032-byte TOAST threshold (an article with a few hundred characters of answer,
or a history row with its answer text) had its vector moved out to the TOAST table. Every search
then read each of its 20 candidates' vectors through the TOAST index to compute their distances
(36 TOAST index scans a question on 10,000 articles), and every question's history row was written
twice, the row and its vector. With toast_tuple_target at its maximum, a row stays whole unless it
passes 8,160 bytes (a long article: its answer text is compressed, then moved out, first).

The articles are rewritten once (VACUUM FULL, which also rebuilds their indexes) so that the
vectors already stored move back into their rows; the history is not rewritten (it may be large),
only its new rows stay whole.
"""

from __future__ import annotations

from django.db import migrations

ROW_TARGET = 8160  # the largest toast_tuple_target PostgreSQL accepts (a page less its header)


class Migration(migrations.Migration):
    atomic = False  # VACUUM cannot run inside a transaction

    dependencies = [("faq", "0014_float_kernel_is_the_default")]

    operations = [
        migrations.RunSQL(
            f"ALTER TABLE faq_documents SET (toast_tuple_target = {ROW_TARGET})",
            "ALTER TABLE faq_documents RESET (toast_tuple_target)",
        ),
        migrations.RunSQL(
            f"ALTER TABLE user_responses SET (toast_tuple_target = {ROW_TARGET})",
            "ALTER TABLE user_responses RESET (toast_tuple_target)",
        ),
        migrations.RunSQL("VACUUM FULL faq_documents", migrations.RunSQL.noop, elidable=True),
    ]
