"""channels-redis, made to ride out a Redis outage.

Every websocket consumer listens on its channel through the layer for as long as it is open. With
the stock RedisChannelLayer a Redis outage makes that listening raise, which ends the consumer and
drops the socket mid-answer. Here the listening waits and retries instead (logged once per outage,
counted in `channel_layer_errors_total`): answers keep streaming from the process that holds the
socket, only cross-process messages (a sign-out closing sockets elsewhere) are missed while Redis
is away, and everything resumes by itself when it is back. Sends that fail raise as before; their
callers decide (faq/consumers.py logs them and goes on).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from supportsite import metrics

logger = logging.getLogger(__name__)

# Seconds between attempts while Redis is unreachable: quick at first, then every few seconds.
_FIRST_RETRY = 0.5
_LAST_RETRY = 5.0


class ResilientRedisChannelLayer(RedisChannelLayer):
    _outage_logged = False

    def create_pool(self, index: int):
        # After Redis restarts, each pooled connection fails once ("closed by server"): retry such a
        # call once on a fresh connection instead of losing the message.
        return create_pool({"retry_on_error": [RedisConnectionError], **self.hosts[index]})

    async def receive(self, channel: str) -> dict:
        delay = _FIRST_RETRY
        while True:
            try:
                message = await super().receive(channel)
            except (RedisError, OSError) as exc:
                record_error("receive", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _LAST_RETRY)
                continue
            if ResilientRedisChannelLayer._outage_logged:
                ResilientRedisChannelLayer._outage_logged = False
                logger.warning("channel layer: Redis answers again")
            return message


def record_error(operation: str, exc: BaseException) -> None:
    """Count a failed channel-layer call; log the first of an outage (not one line per socket)."""
    metrics.CHANNEL_LAYER_ERRORS.labels(operation=operation).inc()
    if not ResilientRedisChannelLayer._outage_logged:
        ResilientRedisChannelLayer._outage_logged = True
        logger.warning("channel layer: Redis unreachable (%s: %s); retrying", type(exc).__name__, exc)


# --- Sessions: a sign-out anywhere closes that session's websockets everywhere ---------------------


def session_group(session_key: str | None) -> str | None:
    """The group a signed-in session's websockets join. The key is hashed: it is a credential, and
    group names are stored in Redis in the clear."""
    if not session_key:
        return None
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


async def join(group: str, channel_name: str, *, layer) -> bool:
    try:
        await layer.group_add(group, channel_name)
    except Exception as exc:  # Redis down: the socket still answers; a sign-out will not reach it
        record_error("group_add", exc)
        return False
    return True


async def leave(group: str, channel_name: str, *, layer) -> None:
    try:
        await layer.group_discard(group, channel_name)
    except Exception as exc:  # the group expires by itself (group_expiry)
        record_error("group_discard", exc)


def close_session_sockets(sender, request, user, **kwargs) -> None:
    """user_logged_out receiver: tell every process to close this session's websockets."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    group = session_group(getattr(getattr(request, "session", None), "session_key", None))
    layer = get_channel_layer()
    if group is None or layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "session.ended"})
    except Exception as exc:  # the sign-out itself has happened; only the notice is lost
        record_error("group_send", exc)
