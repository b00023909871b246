"""Remixing a finished job: which stages a change re-runs, and the reuse of the rest.

The pipeline skips any stage whose marker artifact exists, so a remix is a new job whose
folder starts with the parent's artifacts of the stages the change does not touch (copied,
marker last) and, for an edited scene, the new scene.json in place of describe's. Those stages
report `skipped`; the rest run as in any job.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from gateway.uploads import invalid_field
from imagewave.artifacts import ArtifactStore
from imagewave.contracts import layout
from imagewave.contracts.jobs import JobOptions, StageName
from imagewave.contracts.scene import Scene
from imagewave.errors import InvalidInput

STAGE_ORDER = list(StageName)
# The first stage each option feeds: changing it re-runs that stage and everything after.
OPTION_FIRST_STAGE: dict[str, StageName | None] = {
    "sfx_length_in_s": StageName.sfx,
    "seed": StageName.sfx,
    "audio_length_in_s": StageName.arrangement,
    "style": StageName.arrangement,
    "role_overrides": StageName.render,
    "webhook_url": None,  # says where to report, changes no sound
}
ENGINE_FIRST_STAGE = {"describe": StageName.describe, "sfx": StageName.sfx,
                      "timbre": StageName.timbre}
# What each stage writes (names or folders), the marker among them written last.
STAGE_ARTIFACTS: dict[StageName, tuple[str, ...]] = {
    StageName.describe: (layout.SCENE,),
    StageName.sfx: ("sfx",),
    StageName.roles: (layout.ROLES,),
    StageName.timbre: ("timbre",),
    StageName.instruments: ("instruments",),
    StageName.arrangement: (layout.ARRANGEMENT_MIDI, layout.ARRANGEMENT_INDEX),
    StageName.render: (layout.MIX_WAV, layout.MIX_FLAC, layout.STEMS_DIR),
}


def merge_options(parent: JobOptions, changes: dict[str, Any] | None) -> JobOptions:
    """The parent's options with `changes` on top (engines merged field by field)."""
    merged = parent.model_dump(mode="json")
    for key, value in (changes or {}).items():
        if key == "engines" and isinstance(value, dict):
            merged["engines"] = merged["engines"] | value
        else:
            merged[key] = value
    try:
        return JobOptions.model_validate(merged)
    except ValidationError as exc:
        raise invalid_field(exc, "options") from exc


def first_changed_stage(parent: JobOptions, options: JobOptions, scene_changed: bool,
                        parent_has_image: bool) -> StageName | None:
    """The earliest stage whose inputs differ from the parent's (None: nothing changes)."""
    firsts: list[StageName] = [StageName.sfx] if scene_changed else []
    for name, stage in OPTION_FIRST_STAGE.items():
        if stage is not None and getattr(parent, name) != getattr(options, name):
            firsts.append(stage)
    for name, stage in ENGINE_FIRST_STAGE.items():
        if getattr(parent.engines, name) != getattr(options.engines, name):
            if stage is StageName.describe and (scene_changed or not parent_has_image):
                continue  # the scene is given: describe does not run whatever its engine
            firsts.append(stage)
    return min(firsts, key=STAGE_ORDER.index) if firsts else None


def reuse_parent_artifacts(store: ArtifactStore, parent_id: str, job_id: str,
                           first_changed: StageName | None, scene: Scene | None) -> None:
    """Copy the parent's inputs and the artifacts of every stage before `first_changed`;
    write an edited scene as the describe stage's output."""
    reused = STAGE_ORDER if first_changed is None else \
        STAGE_ORDER[:STAGE_ORDER.index(first_changed)]
    for artifact in store.list(parent_id, layout.INPUT_DIR):
        store.put_bytes(job_id, artifact.name, store.get_bytes(parent_id, artifact.name))
    for stage in reused:
        if stage is StageName.describe and scene is not None:
            continue
        marker = layout.STAGE_MARKERS[stage]
        names = [a.name for prefix in STAGE_ARTIFACTS[stage]
                 for a in store.list(parent_id, prefix)
                 if a.name == prefix or a.name.startswith(prefix.rstrip("/") + "/")]
        if marker not in names:
            raise InvalidInput(f"the parent job has no {marker}: it cannot be remixed",
                               field="job_id")
        for name in sorted(names, key=lambda n: n == marker):  # marker last
            store.put_bytes(job_id, name, store.get_bytes(parent_id, name))
    if scene is not None:
        store.put_bytes(job_id, layout.SCENE,
                        scene.model_dump_json(indent=2, exclude_none=True).encode())
