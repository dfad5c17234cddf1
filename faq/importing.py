"""Import and export of FAQ articles as JSON Lines, a JSON array or CSV.

Records carry `question`, `answer`, optional `category` (by name), optional `id` (the slug:
imports upsert by it), optional `phrasings` (a list of strings that mean the article: its known
phrasings, added to those it has; in CSV one per line of the cell), and, as exports write them,
optional `status` and `visibility`.
A bad record is reported with its line number and skipped; the good ones are stored.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from faq.embeddings import embed_documents
from faq.models import ANSWER_MAX_LENGTH, QUESTION_MAX_LENGTH, Category, FaqDocument
from faq.signals import articles_published

FORMATS = ("jsonl", "json", "csv")
FIELDS = ("id", "question", "answer", "category", "status", "visibility", "phrasings")
PHRASINGS_MAX = 1000  # per article
CATEGORY_MAX_LENGTH = 120
SLUG_MAX_LENGTH = 200
# Undecodable bytes survive reading as lone surrogates (surrogateescape) so we can name them.
_SURROGATE = re.compile("[\udc80-\udcff]")
BATCH_SIZE = 256


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (unknown format, no header, unreadable)."""


@dataclass
class Record:
    line: int
    question: str
    answer: str
    slug: str
    category: str | None = None
    status: str | None = None
    visibility: str | None = None
    phrasings: list[str] | None = None


@dataclass
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    not_embedded: int = 0
    phrasings_added: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return self.created + self.updated


def detect_format(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in {"jsonl", "ndjson"}:
        return "jsonl"
    if suffix == "csv":
        return "csv"
    if suffix == "json":
        return "json" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[") else "jsonl"
    raise ImportFormatError(f"{path.name}: unknown format {path.suffix!r}; use .jsonl, .json or .csv")


def read_raw(path: Path, fmt: str | None = None) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    """Yield (line number, raw record or Problem) for every record in the file."""
    data = path.read_bytes()
    fmt = fmt or detect_format(path, data[:64])
    if fmt == "jsonl":
        yield from _read_jsonl(data)
    elif fmt == "json":
        yield from _read_json_array(data)
    elif fmt == "csv":
        yield from _read_csv(data)
    else:
        raise ImportFormatError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _read_jsonl(data: bytes) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    for number, raw_line in enumerate(data.split(b"\n"), start=1):
        raw_line = raw_line.strip().removeprefix(b"\xef\xbb\xbf") if number == 1 else raw_line.strip()
        if not raw_line:
            continue
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield (
                number,
                Problem(number, f"not valid UTF-8 (byte 0x{raw_line[exc.start]:02x} at column {exc.start + 1})"),
            )
            continue
        try:
            value = json.loads(text)
        except ValueError as exc:
            yield number, Problem(number, f"broken JSON: {exc}")
            continue
        yield number, value if isinstance(value, dict) else Problem(number, "expected a JSON object")


def _read_json_array(data: bytes) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    decoder = json.JSONDecoder()
    position = text.index("[") + 1

    def line_at(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text):
            yield line_at(position), Problem(line_at(position), "broken JSON: the array is not closed with ]")
            return
        if text[position] == "]":
            return
        try:
            value, end = decoder.raw_decode(text, position)
        except ValueError as exc:
            # The array's structure is lost after a syntax error: keep what came before it.
            line = line_at(position)
            yield line, Problem(line, f"broken JSON: {exc}; the rest of the file was not read")
            return
        line = line_at(position)
        yield line, value if isinstance(value, dict) else Problem(line, "expected a JSON object")
        position = end


def _read_csv(data: bytes) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "question" not in [name.strip() for name in reader.fieldnames]:
        raise ImportFormatError(
            "the CSV header must name a 'question' column (and 'answer', optional 'category', 'id')"
        )
    start = 2
    try:
        for row in reader:
            cleaned = {(key or "").strip(): value for key, value in row.items() if key is not None}
            # Empty CSV cells mean "not given", as a missing key does in JSON.
            yield start, {key: value for key, value in cleaned.items() if value not in ("", None)}
            start = reader.line_num + 1
    except csv.Error as exc:
        yield reader.line_num, Problem(reader.line_num, f"broken CSV: {exc}")


def validate(line: int, raw: dict[str, Any]) -> Record | Problem:
    """Check one raw record; every rule names the field it is about."""

    def text_field(name: str, *, required: bool, limit: int) -> str | Problem | None:
        value = raw.get(name)
        if value is None:
            return Problem(line, f"'{name}' is missing") if required else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and name == "id":
            value = str(value)
        if not isinstance(value, str):
            return Problem(line, f"'{name}' must be text, not {type(value).__name__}")
        if "\x00" in value:
            return Problem(line, f"'{name}' contains a NUL byte")
        if _SURROGATE.search(value):
            return Problem(line, f"'{name}' is not valid UTF-8")
        value = value.strip()
        if required and not value:
            return Problem(line, f"'{name}' is empty")
        if len(value) > limit:
            return Problem(line, f"'{name}' is {len(value)} characters; the limit is {limit}")
        return value or None

    values: dict[str, Any] = {}
    for name, required, limit in (
        ("question", True, QUESTION_MAX_LENGTH),
        ("answer", True, ANSWER_MAX_LENGTH),
        ("category", False, CATEGORY_MAX_LENGTH),
        ("id", False, SLUG_MAX_LENGTH),
        ("status", False, 20),
        ("visibility", False, 20),
    ):
        result = text_field(name, required=required, limit=limit)
        if isinstance(result, Problem):
            return result
        values[name] = result
    if values["status"] is not None and values["status"] not in FaqDocument.Status.values:
        return Problem(line, f"'status' must be one of {', '.join(FaqDocument.Status.values)}")
    if values["visibility"] is not None and values["visibility"] not in FaqDocument.Visibility.values:
        return Problem(line, f"'visibility' must be one of {', '.join(FaqDocument.Visibility.values)}")
    phrasings = _phrasings(line, raw.get("phrasings"))
    if isinstance(phrasings, Problem):
        return phrasings
    slug = slugify(values["id"] or values["question"])[:SLUG_MAX_LENGTH].strip("-")
    if not slug:
        return Problem(line, "'id' has no letters or digits to make a slug from")
    return Record(
        line=line,
        question=values["question"],
        answer=values["answer"],
        slug=slug,
        category=values["category"],
        status=values["status"],
        visibility=values["visibility"],
        phrasings=phrasings,
    )


def _phrasings(line: int, value: Any) -> list[str] | Problem | None:
    """A list of strings (JSON), or one per line (a CSV cell)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list):
        return Problem(line, f"'phrasings' must be a list of text, not {type(value).__name__}")
    if len(value) > PHRASINGS_MAX:
        return Problem(line, f"'phrasings' has {len(value)} entries; the limit is {PHRASINGS_MAX}")
    cleaned = []
    for n, item in enumerate(value, start=1):
        if not isinstance(item, str):
            return Problem(line, f"'phrasings' entry {n} must be text, not {type(item).__name__}")
        if "\x00" in item or _SURROGATE.search(item):
            return Problem(line, f"'phrasings' entry {n} contains a NUL byte or invalid UTF-8")
        item = " ".join(item.split())
        if len(item) > QUESTION_MAX_LENGTH:
            return Problem(line, f"'phrasings' entry {n} is {len(item)} characters; the limit is {QUESTION_MAX_LENGTH}")
        if item:
            cleaned.append(item)
    return list(dict.fromkeys(cleaned))


def read_records(path: Path, fmt: str | None = None) -> tuple[list[Record], list[Problem]]:
    records: list[Record] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for line, raw in read_raw(path, fmt):
        result = raw if isinstance(raw, Problem) else validate(line, raw)
        if isinstance(result, Record) and result.slug in first_line:
            result = Problem(line, f"duplicate id {result.slug!r} (first on line {first_line[result.slug]})")
        if isinstance(result, Problem):
            problems.append(result)
        else:
            first_line[result.slug] = line
            records.append(result)
    return records, problems


def import_records(
    records: list[Record],
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert by slug: new slugs are created, changed ones updated, identical ones left alone."""
    report = ImportReport()
    categories = {c.name: c for c in Category.objects.all()}
    for start in range(0, len(records), BATCH_SIZE):
        batch = records[start : start + BATCH_SIZE]
        existing = FaqDocument.objects.in_bulk([r.slug for r in batch], field_name="slug")
        to_create: list[FaqDocument] = []
        to_update: list[FaqDocument] = []
        for record in batch:
            category = _category(record.category, categories, dry_run=dry_run)
            doc = existing.get(record.slug)
            if doc is None:
                doc = FaqDocument(slug=record.slug)
                to_create.append(doc)
            elif not _differs(doc, record, category):
                report.unchanged += 1
                continue
            else:
                to_update.append(doc)
            doc.question, doc.answer, doc.category = record.question, record.answer, category
            doc.status = record.status or doc.status or FaqDocument.Status.PUBLISHED
            doc.visibility = record.visibility or doc.visibility or FaqDocument.Visibility.PUBLIC
        report.created += len(to_create)
        report.updated += len(to_update)
        if not dry_run:
            _write(to_create, to_update, report)
            report.phrasings_added += _write_phrasings(batch)
        if progress:
            progress(len(batch))
    return report


def _category(name: str | None, categories: dict[str, Category], *, dry_run: bool) -> Category | None:
    if not name:
        return None
    if name not in categories:
        category = Category(name=name, slug=_free_category_slug(name))
        if not dry_run:
            category.save()
        categories[name] = category
    return categories[name]


def _free_category_slug(name: str) -> str:
    base = slugify(name)[:130] or "category"
    slug, n = base, 2
    while Category.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _differs(doc: FaqDocument, record: Record, category: Category | None) -> bool:
    return (
        doc.question != record.question
        or doc.answer != record.answer
        or doc.category_id != (category.pk if category else None)
        or (record.status is not None and doc.status != record.status)
        or (record.visibility is not None and doc.visibility != record.visibility)
        or doc.needs_embedding()
    )


def _write(to_create: list[FaqDocument], to_update: list[FaqDocument], report: ImportReport) -> None:
    # Embed outside the transaction: the model call is the slow part and holds no locks.
    pending = [doc for doc in [*to_create, *to_update] if doc.needs_embedding()]
    embedded = embed_documents(pending)
    report.not_embedded += len(pending) - embedded
    with transaction.atomic():
        FaqDocument.objects.bulk_create(to_create)
        FaqDocument.objects.bulk_update(
            to_update,
            ["question", "answer", "category", "status", "visibility", "embedding", "embedding_model", "embedded_hash"],
        )
        if to_update:
            # bulk_update skips auto_now; the articles did change.
            from django.utils import timezone

            FaqDocument.objects.filter(pk__in=[d.pk for d in to_update]).update(updated_at=timezone.now())
    # Written without save(): tell the apps that follow publishing (the content-gap queue).
    written = [doc.pk for doc in [*to_create, *to_update]]
    articles_published.send(sender=FaqDocument, documents=FaqDocument.objects.filter(pk__in=written), request=None)


def _write_phrasings(batch: list[Record]) -> int:
    from faq.phrasings import Source, set_phrasings

    wanted = [r for r in batch if r.phrasings]
    documents = FaqDocument.objects.in_bulk([r.slug for r in wanted], field_name="slug")
    return sum(set_phrasings(documents[r.slug], r.phrasings, source=Source.IMPORT) for r in wanted)


def export_rows(documents: Iterable[FaqDocument]) -> Iterator[dict[str, Any]]:
    from faq.models import KnownPhrasing

    # Approved phrasings only: pending ones are customers' words, not yet the help centre's.
    phrasings: dict[int, list[str]] = {}
    for document_id, text in KnownPhrasing.objects.approved().order_by("pk").values_list("document_id", "text"):
        phrasings.setdefault(document_id, []).append(text)
    for doc in documents:
        yield {
            "id": doc.slug,
            "question": doc.question,
            "answer": doc.answer,
            "category": doc.category.name if doc.category else "",
            "status": doc.status,
            "visibility": doc.visibility,
            "phrasings": phrasings.get(doc.pk, []),
        }


def write_export(rows: Iterable[dict[str, str]], out: io.TextIOBase, fmt: str) -> int:
    count = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    elif fmt == "json":
        out.write("[\n")
        for row in rows:
            out.write(("" if count == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
            count += 1
        out.write("\n]\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=list(FIELDS), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "phrasings": "\n".join(row.get("phrasings") or [])})
            count += 1
    else:
        raise ImportFormatError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return count
