"""ws/answer/: the search page's answer, streamed as the AI provider writes it.

Client -> {"query": "...", "category": null}
Server -> {"type": "documents", "documents": [...], "answered": bool, "nearly_tied": bool}
          {"type": "chunk", "text": "..."}*            (generated answers only)
          {"type": "replace", "text": "..."}           (extractive answer, or the fallback after a provider error)
          {"type": "done", "answer_mode", "answered", "nearly_tied", "text", "html", "response_id", "sources",
           "contact_url"}
       or {"type": "error", "message": "..."}          (bad input: nothing is searched or stored)

"nearly_tied": the best two documents are nearly tied (faq/near_ties.py): the page asks "Is it one of
these?" with them instead of showing the answer.

Each question stores exactly one history row (user_responses), written once the answer is final.

The answer streams straight from the process that holds the socket, so a page served by one server
process may open its socket on another. Through the channel layer (Redis with several processes) a
signed-in socket joins its session's group: signing out on any process closes it with
{"type": "error", "message": ...}, so a socket opened before the sign-out cannot go on asking as
that user. Searches read from a read replica when there are any (supportsite/db_router.py).
"""

from __future__ import annotations

import json
import logging

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from faq.answers import Done, Found, Piece, Replaced, Step, answer_steps, cited_documents
from faq.feedback import answer_token
from faq.inputs import BadInput, clean_query, find_category
from faq.markdown import render_markdown
from faq.models import Category
from faq.near_ties import tied_choices
from faq.serializers import document_json, snippet
from supportsite.channel_layer import join, leave, session_group
from supportsite.concurrency import in_thread
from supportsite.db_router import replica_failed, replica_reads
from supportsite.ratelimit import RateLimited, acheck, scope_ip

logger = logging.getLogger(__name__)

# A message this long cannot hold a valid question: refuse it before parsing the JSON.
_MAX_MESSAGE_CHARS_OVERHEAD = 2_000
_FORMAT_HELP = 'Send the question as JSON: {"query": "your question", "category": null}.'
_END = object()


def _next_step(steps):
    return next(steps, _END)


SIGNED_OUT_MESSAGE = "You signed out, so this connection was closed. Reload the page to ask again."


class AnswerConsumer(AsyncJsonWebsocketConsumer):
    session_group: str | None = None

    async def connect(self) -> None:
        await self.accept()
        if getattr(self.scope.get("user"), "is_authenticated", False) and self.channel_layer is not None:
            group = session_group(getattr(self.scope.get("session"), "session_key", None))
            if group and await join(group, self.channel_name, layer=self.channel_layer):
                self.session_group = group

    async def disconnect(self, code) -> None:
        if self.session_group:
            await leave(self.session_group, self.channel_name, layer=self.channel_layer)

    async def session_ended(self, event: dict) -> None:
        """The session signed out (on whichever process): close this socket."""
        await self._error(SIGNED_OUT_MESSAGE)
        await self.close(code=4001)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        # The base class would raise (and drop the connection) on anything but valid JSON text.
        if text_data is None or len(text_data) > settings.QUERY_MAX_LENGTH * 6 + _MAX_MESSAGE_CHARS_OVERHEAD:
            await self._error(_FORMAT_HELP if text_data is None else "Your question is too long to search.")
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply to be a question
            await self._error(_FORMAT_HELP)
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("query"), str):
            await self._error(_FORMAT_HELP)
            return
        category = content.get("category")
        if category is not None and not isinstance(category, str):
            await self._error("The category must be a category's short name, or null for all of them.")
            return
        user = self.scope.get("user")
        try:
            query = clean_query(content["query"], required=True)
            found = await in_thread(find_category)(category, user=user)
        except BadInput as exc:
            await self._error(str(exc))
            return
        try:
            await acheck(user=user, ip=scope_ip(self.scope))
        except RateLimited as exc:
            await self._error(exc.message)
            return
        try:
            await self._answer_from_a_replica(query, found)
        except Exception:
            logger.exception("streaming an answer failed")
            await self._error("Something went wrong while answering. Please try again, or reload the page.")

    async def _answer_from_a_replica(self, query: str, category: Category | None) -> None:
        """Read from a replica when there are any; if it turns out to be down before anything was
        written, answer again from the primary (supportsite/db_router.py)."""
        with replica_reads() as scope:
            try:
                await self._answer(query, category)
                return
            except Exception as exc:
                if scope is None or scope.wrote or not await in_thread(replica_failed)(exc):
                    raise
        await self._answer(query, category)

    async def _answer(self, query: str, category: Category | None) -> None:
        # The ASGI application's AuthMiddlewareStack resolves the session's user; without it: anonymous.
        steps = answer_steps(query, user=self.scope.get("user"), category=category, streaming=True)
        next_step = in_thread(_next_step)
        while (step := await next_step(steps)) is not _END:
            await self.send_json(_frame(step))

    async def _error(self, message: str) -> None:
        await self.send_json({"type": "error", "message": message})


def _frame(step: Step) -> dict:
    """A step of faq.answers.answer_steps as the frame the page reads (see the module doc)."""
    if isinstance(step, Found):
        documents = [document_json(hit.document, snippet=snippet(hit.document)) for hit in step.result.hits]
        tied = bool(tied_choices(step.result))
        return {"type": "documents", "documents": documents, "answered": step.result.answered, "nearly_tied": tied}
    if isinstance(step, Piece):
        return {"type": "chunk", "text": step.text}
    if isinstance(step, Replaced):
        return {"type": "replace", "text": step.text}
    if isinstance(step, Done):
        answer = step.answer
        return {
            "type": "done",
            "answer_mode": answer.mode,
            "answered": answer.answered,
            "nearly_tied": bool(tied_choices(answer.search)),
            "text": answer.text,
            # Sanitised by nh3: the only HTML the page ever inserts.
            "html": render_markdown(answer.text) if answer.answered else "",
            "response_id": answer.response_id,
            "feedback_token": answer_token(answer.response_id),
            "sources": [document_json(document) for document in cited_documents(answer)],
            "contact_url": settings.SUPPORT_CONTACT_URL,
        }
    raise TypeError(f"unknown answer step {step!r}")
