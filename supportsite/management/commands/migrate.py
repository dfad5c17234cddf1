"""Django's migrate, first refusing a schema that holds another application's tables of our names."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import connections

from supportsite import schema_clash


class Command(migrate.Command):
    def handle(self, *args, **options):
        problem = schema_clash.check(connections[options["database"]])
        if problem:
            raise CommandError(problem)
        return super().handle(*args, **options)
