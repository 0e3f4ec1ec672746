"""The school's hand-off webhook (issue 20): each hand-off's structured record, posted signed.

``dialogs.outbox`` delivers it (retries with backoff, across restarts; done once the receiver
accepts it, never posted again after that). Every post carries:

- ``X-Handoff-Timestamp``: seconds since 1970 (UTC) when this attempt was made;
- ``X-Handoff-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with the shared secret, of
  the timestamp, a full stop and the body's exact bytes (``policy.handoff.signature``);
- ``Idempotency-Key``: the hand-off's id, the same on every attempt, so a receiver that got a
  post whose answer was lost on the way back keeps it once.

A 2xx answer means accepted; 409 means the receiver already has that key (accepted before).
Anything else, or no answer, is tried again later. Redirects are not followed (the signed body
goes only where the school file says). Nothing of the body reaches a log.
"""

from __future__ import annotations

import logging

import aiohttp

from dialogs.ports import Clock, DeliveryFailed
from policy.handoff import headers

log = logging.getLogger(__name__)

#: Seconds one post may take.
TIMEOUT_SECONDS = 8.0


class SignedWebhook:
    """The ``Webhook`` port over HTTPS (HTTP on loopback in local mode)."""

    def __init__(self, url: str, secret: str, clock: Clock) -> None:
        self._url = url
        self._secret = secret
        self._clock = clock

    def __repr__(self) -> str:  # never the secret
        return f"SignedWebhook({self._url!r})"

    async def post(self, body: bytes, *, key: str) -> None:
        """Post ``body`` signed now, with ``key`` as its idempotency key.

        Raises:
            DeliveryFailed: the receiver did not accept it (with ``Retry-After`` when it said).
        """
        timestamp = str(int(self._clock.now().timestamp()))
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(
                    self._url,
                    data=body,
                    headers=headers(self._secret, timestamp, body, key),
                    allow_redirects=False,
                ) as response,
            ):
                status = response.status
                retry_after = response.headers.get("Retry-After", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(
                f"webhook unreachable ({exc.__class__.__name__})", maybe_delivered=True
            ) from None
        if 200 <= status < 300 or status == 409:
            log.info("hand-off %s accepted by the webhook (%d)", key, status)
            return
        wait = float(retry_after) if retry_after.isdigit() else None
        raise DeliveryFailed(f"webhook answered {status}", wait, maybe_delivered=status >= 500)
