"""`Idempotency-Key` on POST /jobs: a retried submission gets the job the first one made.

The key (per owner) is claimed atomically with `SET NX` together with a fingerprint of the
request (SHA-256 of options, image and MIDI). The same key with the same request returns the
same job; the same key with a different request is a 422 (as the IETF idempotency-key draft
advises); a second request racing the first gets that first job once it exists, or 409 if it
does not exist yet.
"""

from __future__ import annotations

import hashlib
import json

from redis import Redis

from imagewave.errors import Conflict, InvalidInput

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters",
                           field=HEADER)
    return key


def fingerprint(options: str | None, image: bytes, midi: bytes | None) -> str:
    digest = hashlib.sha256()
    for part in ((options or "").strip().encode(), image, midi or b""):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _redis_key(owner: str | None, key: str) -> str:
    return f"imagewave:idem:{owner or '-'}:{hashlib.sha256(key.encode()).hexdigest()}"


def claim(redis: Redis, owner: str | None, key: str, request_fingerprint: str, job_id: str,
          ttl_s: int) -> str | None:
    """Claim `key` for `job_id`. Returns None when claimed now (go on and create the job), or
    the id of the job an earlier identical request made."""
    name = _redis_key(owner, key)
    value = json.dumps({"fingerprint": request_fingerprint, "job_id": job_id})
    if redis.set(name, value, nx=True, ex=ttl_s):
        return None
    earlier = redis.get(name)
    if earlier is None:  # expired between the two calls: claim again
        return claim(redis, owner, key, request_fingerprint, job_id, ttl_s)
    stored = json.loads(earlier)
    if stored["fingerprint"] != request_fingerprint:
        raise IdempotencyKeyReused(f"{HEADER} {key!r} was used for a different request",
                                   field=HEADER)
    return stored["job_id"]


def release(redis: Redis, owner: str | None, key: str) -> None:
    """Forget a claim whose job could not be created, so a retry can make it."""
    redis.delete(_redis_key(owner, key))


class RequestInProgress(Conflict):
    code = "request_in_progress"
