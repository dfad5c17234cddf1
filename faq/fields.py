"""The embedding column, sized from settings when migrations run rather than frozen into them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from pgvector.django import VectorField


class EmbeddingField(VectorField):
    """vector(EMBEDDING_DIMENSIONS). `reembed --all` resizes an existing column after a model change."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("dimensions", None)
        super().__init__(*args, dimensions=settings.EMBEDDING_DIMENSIONS, **kwargs)

    def db_type(self, connection: Any) -> str:
        # Read at query time, so casts in bulk updates follow the setting of the running process.
        return f"vector({settings.EMBEDDING_DIMENSIONS})"

    def deconstruct(self) -> tuple[Any, Any, Any, Any]:
        # Leaving the size out keeps `makemigrations --check` clean whatever the setting says.
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("dimensions", None)
        return name, path, args, kwargs
