"""Role assignment: which sound effect becomes the keyboard, the bass, the guitar and the drums.

Each (role, sound) pair gets a score from two kinds of evidence:

- the scene's own hint: a variant of the source whose `mapping_to_music_instrument` names the
  role (+0.6), and the describer's `confidence` in the source (±0.1 around 0.5), and
- the effect's measured audio features (`imagewave.analysis`), each scaled to 0..1:
  bass ← low-frequency energy share and sustain; drums ← onset strength, low sustain and low
  tonality; keyboard ← tonality/harmonicity and sustain; guitar ← tonality/harmonicity, a
  mid-range brightness and some attack.

The assignment maximising the total score is found with the Hungarian algorithm, so every role
gets a sound and no sound is used twice while there are at least four. With fewer sounds, each
sound is used once before any is reused (a reuse costs more than any score difference).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from imagewave.analysis import AudioFeatures, audio_features
from imagewave.contracts.scene import Role, Scene
from imagewave.contracts.stages import RoleAssignment, RoleChoice
from imagewave.errors import InvalidInput

ROLES: tuple[Role, ...] = (Role.drums, Role.bass, Role.keyboard, Role.guitar)

_HINT_WEIGHT = 0.6
_CONFIDENCE_WEIGHT = 0.2
_REUSE_PENALTY = 10.0  # larger than any score spread: a sound is reused only when it must be


@dataclass(frozen=True)
class RoleEvidence:
    score: float
    reasons: list[str]


def _brightness_mid(centroid_hz: float) -> float:
    """1 for a centroid around 1-3 kHz (where a guitar lives), falling off either side."""
    octaves_off = abs(np.log2(max(centroid_hz, 20.0) / 1700.0))
    return float(np.clip(1.0 - octaves_off / 3.0, 0.0, 1.0))


def role_evidence(role: Role, features: AudioFeatures, hinted: bool) -> RoleEvidence:
    """How well a sound with `features` fits `role`, and why, in words."""
    f = features
    pitched = max(f.tonality * 2.5, f.harmonicity)  # sfx tonality is < 0.35 by design
    pitched = float(np.clip(pitched, 0.0, 1.0))
    if role is Role.drums:
        parts = {"sharp onsets": f.onset_strength, "short (little sustain)": 1 - f.sustain,
                 "unpitched": 1 - pitched}
        weights = {"sharp onsets": 0.6, "short (little sustain)": 0.25, "unpitched": 0.15}
    elif role is Role.bass:
        low = float(np.clip(f.low_frequency_ratio * 2.0, 0.0, 1.0))
        parts = {"low-frequency energy": low, "sustained": f.sustain,
                 "dark": float(np.clip(1 - f.spectral_centroid_hz / 4000, 0, 1))}
        weights = {"low-frequency energy": 0.6, "sustained": 0.2, "dark": 0.2}
    elif role is Role.keyboard:
        parts = {"pitched/tonal": pitched, "sustained": f.sustain,
                 "smooth onsets": 1 - f.onset_strength}
        weights = {"pitched/tonal": 0.5, "sustained": 0.35, "smooth onsets": 0.15}
    else:
        parts = {"pitched/tonal": pitched, "mid-range brightness":
                 _brightness_mid(f.spectral_centroid_hz), "some attack": f.onset_strength}
        weights = {"pitched/tonal": 0.4, "mid-range brightness": 0.35, "some attack": 0.25}
    score = sum(weights[name] * value for name, value in parts.items())
    # The (at most two) features that contributed most and really hold (value ≥ 0.4), in words
    # with their measured values; when none holds, say it was only the closest fit.
    ranked = sorted(parts, key=lambda name: weights[name] * parts[name], reverse=True)
    holding = [name for name in ranked[:2] if parts[name] >= 0.4]
    reasons = [f"{name} ({_describe(name, f)})" for name in holding] or [
        f"closest fit among these sounds: {ranked[0]} ({_describe(ranked[0], f)})"]
    if hinted:
        score += _HINT_WEIGHT
        reasons.insert(0, f"the scene maps this sound to {role.value}")
    return RoleEvidence(float(score), reasons)


def _describe(part: str, f: AudioFeatures) -> str:
    return {
        "sharp onsets": f"onset strength {f.onset_strength:.2f}",
        "short (little sustain)": f"sustain {f.sustain:.2f}",
        "unpitched": f"tonality {f.tonality:.2f}, harmonicity {f.harmonicity:.2f}",
        "low-frequency energy": f"{f.low_frequency_ratio:.0%} of energy below 250 Hz",
        "sustained": f"sustain {f.sustain:.2f}",
        "dark": f"spectral centroid {f.spectral_centroid_hz:.0f} Hz",
        "pitched/tonal": f"tonality {f.tonality:.2f}, harmonicity {f.harmonicity:.2f}",
        "smooth onsets": f"onset strength {f.onset_strength:.2f}",
        "mid-range brightness": f"spectral centroid {f.spectral_centroid_hz:.0f} Hz",
        "some attack": f"onset strength {f.onset_strength:.2f}",
    }[part]


def assign_roles(scene: Scene, effects: Sequence[tuple[int, np.ndarray, int]]) -> RoleAssignment:
    """Give every role one effect (see the module docstring).

    `effects` are (source_index, mono samples, sample_rate), one per sound.
    """
    if not effects:
        raise InvalidInput("role assignment needs at least one sound effect", field="effects")
    for source_index, _, _ in effects:
        if not 0 <= source_index < len(scene.sound_sources):
            raise InvalidInput(f"effect source_index {source_index} is not a source of the scene "
                               f"({len(scene.sound_sources)} sources)", field="effects")
    features = [audio_features(samples, sample_rate) for _, samples, sample_rate in effects]
    evidence = [[_with_confidence(role_evidence(role, features[j], _hinted(scene, index, role)),
                                  scene.sound_sources[index].confidence)
                 for j, (index, _, _) in enumerate(effects)] for role in ROLES]
    copies = int(np.ceil(len(ROLES) / len(effects)))
    scores = np.array([[evidence[r][j].score - _REUSE_PENALTY * copy
                        for copy in range(copies) for j in range(len(effects))]
                       for r in range(len(ROLES))])
    rows, columns = linear_sum_assignment(scores, maximize=True)
    choices = []
    for r, column in zip(rows, columns, strict=True):
        j, copy = column % len(effects), column // len(effects)
        source_index = effects[j][0]
        reasons = list(evidence[r][j].reasons)
        if copy > 0:
            reasons.append(f"reused: only {len(effects)} sound(s) for {len(ROLES)} roles")
        choices.append(RoleChoice(role=ROLES[r], source_index=source_index,
                                  source_name=scene.sound_sources[source_index].name,
                                  reasons=reasons))
    order = {role: i for i, role in enumerate((Role.keyboard, Role.bass, Role.guitar,
                                               Role.drums))}
    return RoleAssignment(choices=sorted(choices, key=lambda c: order[c.role]))


def _with_confidence(evidence: RoleEvidence, confidence: float | None) -> RoleEvidence:
    """A sound the describer is sure is in the picture carries the song better than a guess:
    up to ±0.1 around confidence 0.5; nothing when the scene gives no confidence."""
    if confidence is None:
        return evidence
    return RoleEvidence(evidence.score + _CONFIDENCE_WEIGHT * (confidence - 0.5),
                        evidence.reasons)


def _hinted(scene: Scene, source_index: int, role: Role) -> bool:
    return any(v.mapping_to_music_instrument is role
               for v in scene.sound_sources[source_index].variants)
