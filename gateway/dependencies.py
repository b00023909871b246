"""Objects the routes need, built once in the app's lifespan and reached through app.state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from redis import Redis
from rq import Queue

from gateway.jobs import JobStore
from gateway.settings import GatewaySettings
from imagewave.artifacts import LocalArtifactStore


@dataclass
class GatewayState:
    settings: GatewaySettings
    redis: Redis
    jobs: JobStore
    queue: Queue
    store: LocalArtifactStore


def get_state(request: Request) -> GatewayState:
    return request.app.state.gateway


StateDep = Annotated[GatewayState, Depends(get_state)]
JobIdPath = Annotated[str, Path(description="The job's id, as POST /jobs returned it",
                                examples=["Xq3v9TzB1mK2p8LwR5sYdA"])]
