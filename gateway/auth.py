"""Optional API keys: stored hashed, one owner per key, a key sees only its own jobs.

A key is `iw_` + 192 random bits, shown once when made (`imagewave keys create NAME`); Redis
keeps only its SHA-256, under which the key's id and name are found. The key's id owns the jobs
made with it. Keys travel in `X-API-Key` (or `Authorization: Bearer`).

`AccessControl` is a small ASGI middleware in front of every route: it resolves the caller's key
(401 for a wrong key, or for none when keys are required) and answers 404 for any
`/jobs/{id}/...` path whose job belongs to someone else, so every job route, present and future,
is covered by the same check and another owner's job looks exactly like a missing one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from redis import Redis
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.jobs import JobStore
from imagewave.errors import ImagewaveError, NotFound

KEYS_KEY = "imagewave:apikeys"  # hash: sha256(key) → {"id", "name", "created_at"}
KEY_PREFIX = "iw_"
# Only job-shaped ids are looked up (as check_job_id): `/jobs/<id>:events` would otherwise read
# the job's event stream as if it were its record (Redis WRONGTYPE).
_JOB_PATH = re.compile(r"^/jobs/([A-Za-z0-9_-]{8,64})(?:/|$)")
# Paths anyone may reach: health, the API description and the web page.
# /metrics/queue: counts only, read by the cluster autoscaler (KEDA) without a key.
PUBLIC_PATHS = ("/healthz", "/metrics/queue", "/openapi.json", "/docs", "/redoc", "/")


class Unauthorized(ImagewaveError):
    status_code = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": 'ApiKey header="X-API-Key"'}


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    created_at: float


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(redis: Redis, name: str) -> tuple[str, ApiKey]:
    """Make a key; returns the secret (shown once, never stored) and its record."""
    secret = KEY_PREFIX + secrets.token_urlsafe(24)
    record = ApiKey(id=secrets.token_hex(8), name=name[:100], created_at=time.time())
    redis.hset(KEYS_KEY, _digest(secret), json.dumps(record.__dict__))
    return secret, record


def list_keys(redis: Redis) -> list[ApiKey]:
    return sorted((ApiKey(**json.loads(v)) for v in redis.hvals(KEYS_KEY)),
                  key=lambda k: k.created_at)


def revoke_key(redis: Redis, key_id: str) -> bool:
    for digest, value in redis.hgetall(KEYS_KEY).items():
        if hmac.compare_digest(json.loads(value)["id"], key_id):
            return bool(redis.hdel(KEYS_KEY, digest))
    return False


def lookup_key(redis: Redis, secret: str) -> ApiKey | None:
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    value = redis.hget(KEYS_KEY, _digest(secret))
    return ApiKey(**json.loads(value)) if value else None


def _presented_key(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            return value.decode("latin-1").strip()
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return value[7:].decode("latin-1").strip()
    return None


class AccessControl:
    """Resolve the caller (scope state `owner`: key id or None) and hide others' jobs."""

    def __init__(self, app: ASGIApp, *, state_of) -> None:
        self.app = app
        self.state_of = state_of  # () → GatewayState, available once the lifespan ran

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path in PUBLIC_PATHS or path.startswith(("/static", "/examples")):
            await self.app(scope, receive, send)
            return
        state = self.state_of()
        presented = _presented_key(scope)
        if not presented and not state.settings.api_keys_required and path == "/jobs":
            scope.setdefault("state", {})["owner"] = None  # anonymous submit: no lookup
            await self.app(scope, receive, send)
            return
        try:
            owner = await run_in_threadpool(self._check, state, path, presented)
        except ImagewaveError as exc:
            await _error(exc, scope, receive, send)
            return
        scope.setdefault("state", {})["owner"] = owner
        await self.app(scope, receive, send)

    @staticmethod
    def _check(state, path: str, presented: str | None) -> str | None:
        owner = None
        if presented:
            key = lookup_key(state.redis, presented)
            if key is None:
                raise Unauthorized("the API key is not valid")
            owner = key.id
        elif state.settings.api_keys_required:
            raise Unauthorized("an API key is required (X-API-Key header)")
        match = _JOB_PATH.match(path)
        if match:
            job_owner = state.redis.hget(JobStore.key(match.group(1)), "owner")
            if job_owner is not None and (job_owner.decode() or None) != owner:
                raise NotFound(f"job {match.group(1)[:64]!r} not found")
        return owner


async def _error(exc: ImagewaveError, scope: Scope, receive: Receive, send: Send) -> None:
    from fastapi.responses import JSONResponse

    response = JSONResponse(exc.to_response().model_dump(), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))
    await response(scope, receive, send)


def get_owner(request: Request) -> str | None:
    """The caller's key id (None: anonymous), as AccessControl resolved it."""
    return getattr(request.state, "owner", None)


OwnerDep = Annotated[str | None, Depends(get_owner)]


# -- `imagewave keys ...` ------------------------------------------------------------------


def cmd_keys(args) -> int:
    """`imagewave keys create NAME | list | revoke ID` against the gateway's Redis."""
    from gateway.connection import connect_redis
    from gateway.settings import GatewaySettings
    from imagewave.embedded_redis import EmbeddedRedis

    settings = GatewaySettings(**({"data_dir": args.data_dir} if getattr(
        args, "data_dir", None) else {}))
    # No REDIS_URL: the embedded Redis of a `serve` on this data directory, as `serve` put it.
    redis_url = settings.redis_url or EmbeddedRedis.running_url(settings.data_dir / "redis")
    if not redis_url:
        raise SystemExit(f"keys: REDIS_URL is not set and no `imagewave serve` runs on "
                         f"{settings.data_dir} (IMAGEWAVE_DATA_DIR)")
    redis = connect_redis(redis_url, outage_s=5)
    if args.action == "create":
        secret, key = create_key(redis, args.name or "unnamed")
        print(f"{secret}\n(id {key.id}, name {key.name!r}; the key is shown only this once)")
    elif args.action == "list":
        for key in list_keys(redis):
            made = time.strftime("%Y-%m-%d %H:%M", time.gmtime(key.created_at))
            print(f"{key.id}\t{key.name}\t{made}")
    elif args.action == "revoke":
        if not revoke_key(redis, args.name or ""):
            print(f"no key with id {args.name!r}")
            return 1
        print(f"revoked {args.name}")
    return 0
