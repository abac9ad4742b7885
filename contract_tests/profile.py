"""How big and which parts of the contract suite run: read once from ``AUTHSPEC_CONTRACT_*``.

``make test`` runs the CI profile (small, fixed seed, a few minutes on two cores); ``--thorough``
(``AUTHSPEC_CONTRACT_THOROUGH=1``) runs enough examples for well over 5,000 generated calls across
the in-process targets. ``authspec contract`` sets these variables for the pytest run it starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

PHASES = ("examples", "coverage", "fuzzing", "stateful")

#: CI: deterministic, so a red build is reproducible; thorough runs draw a fresh seed each time.
CI_SEED = 20260115


@dataclass(frozen=True)
class Profile:
    name: str
    max_examples: int
    stateful_examples: int
    stateful_steps: int
    phases: tuple[str, ...]
    seed: int | None

    @property
    def stateful(self) -> bool:
        return "stateful" in self.phases

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Profile:
        env = os.environ if environ is None else environ
        thorough = env.get("AUTHSPEC_CONTRACT_THOROUGH", "").lower() in ("1", "true", "yes")
        if thorough:
            profile = cls(
                "thorough", max_examples=250, stateful_examples=300, stateful_steps=12, phases=PHASES, seed=None
            )
        else:
            profile = cls("ci", max_examples=20, stateful_examples=30, stateful_steps=10, phases=PHASES, seed=CI_SEED)
        max_examples = env.get("AUTHSPEC_CONTRACT_MAX_EXAMPLES")
        if max_examples:
            n = int(max_examples)
            if n < 1:
                raise ValueError("AUTHSPEC_CONTRACT_MAX_EXAMPLES must be at least 1")
            profile = replace(profile, max_examples=n, stateful_examples=max(n, 5))
        phases = env.get("AUTHSPEC_CONTRACT_PHASES")
        if phases:
            chosen = tuple(p.strip() for p in phases.split(",") if p.strip())
            unknown = [p for p in chosen if p not in PHASES]
            if unknown or not chosen:
                raise ValueError(
                    f"AUTHSPEC_CONTRACT_PHASES: unknown phase(s) {unknown}; choose from {', '.join(PHASES)}"
                )
            profile = replace(profile, phases=chosen)
        seed = env.get("AUTHSPEC_CONTRACT_SEED")
        if seed:
            profile = replace(profile, seed=int(seed))
        return profile
