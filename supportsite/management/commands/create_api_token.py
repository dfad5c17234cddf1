"""python manage.py create_api_token USERNAME --name NAME: prints a new token once."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from supportsite.models import ApiToken


class Command(BaseCommand):
    help = "Issue an API token for a user (staff tokens may act for any user_id). Printed once; stored hashed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="What will use the token.")

    def handle(self, *args, username: str, name: str, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        _, plain = ApiToken.issue(user=user, name=name)
        self.stdout.write(plain)
