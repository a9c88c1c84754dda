"""RLCS curriculum sampler for verl (``data.sampler``).

verl::

    data.sampler.class_path=<repo>/integrations/verl/stratum_verl/sampler.py
    data.sampler.class_name=StratumCurriculumSampler
    data.dataloader_num_workers=0            # verl requires it for curriculum samplers
    +data.sampler.tiers_path=shards/<dataset>/rlcs/state/tiers.jsonl   # optional

Each prompt (dataset row) starts in the tier of ``tiers_path`` (``{"index", "tier", "ema"}`` lines,
written by ``pnpm pipeline rlcs import``; a ``rlcs sample`` manifest works too) or else of its
exported ``extra_info.tier``. Draws pick a tier with probability proportional to
``weight[tier] × prompts in it``, then a prompt uniformly inside it, so solved and unsolved prompts
(no GRPO signal) come up less. After each step verl calls ``update(batch)``: every rollout group
(``uid``) gives its prompt a pass rate k/n (``acc`` from Stratum's reward, else the summed token
score ≥ ``correct_threshold``), folded into the prompt's EMA; the EMA's tier takes effect on the
next draw. ``expansion_ratio = 1 / (1 − not_valid_rate)`` (groups all correct or all wrong), EMA
smoothed, is kept for the trainer (verl's batch size is fixed; feed it to an oversampling filter).

The same tier rules as Stratum's TypeScript side (pipelines/rlcs/state.ts): thresholds easy 0.75 /
medium 0.25, an EMA within ``point_tolerance`` of 1 (0) is solved (unsolved).
"""

from __future__ import annotations

import json
import math
import os
import random
from typing import Any, Dict, Iterator, List, Optional

try:  # verl >= 0.5
    from verl.experimental.dataset.sampler import AbstractCurriculumSampler
except ImportError as err:  # pragma: no cover - a clear message beats verl's generic one
    raise ImportError("stratum_verl.sampler needs verl (verl.experimental.dataset.sampler.AbstractCurriculumSampler)") from err

TIERS = ("solved", "easy", "medium", "hard", "unsolved", "unrated")
DEFAULT_WEIGHTS = {"solved": 0.1, "easy": 0.5, "medium": 1.0, "hard": 1.0, "unsolved": 0.1, "unrated": 1.0}


def _get(cfg: Any, key: str, default: Any = None) -> Any:
    if cfg is None:
        return default
    if hasattr(cfg, "get"):
        value = cfg.get(key, default)
        return default if value is None else value
    return getattr(cfg, key, default)


def _to_list(x: Any) -> list:
    if x is None:
        return []
    if hasattr(x, "detach"):
        x = x.detach().cpu()
    if hasattr(x, "tolist"):
        return x.tolist()
    return list(x)


def online_tier(ema: float, easy: float, medium: float, point_tolerance: float) -> str:
    if ema >= 1 - point_tolerance:
        return "solved"
    if ema <= point_tolerance:
        return "unsolved"
    if ema >= easy:
        return "easy"
    if ema >= medium:
        return "medium"
    return "hard"


class StratumCurriculumSampler(AbstractCurriculumSampler):
    def __init__(self, data_source, data_config):
        cfg = _get(data_config, "sampler", None)
        self.data_source = data_source
        weights = dict(DEFAULT_WEIGHTS)
        weights.update({str(k): float(v) for k, v in dict(_get(cfg, "weights", {}) or {}).items()})
        unknown = set(weights) - set(TIERS)
        if unknown:
            raise ValueError(f"data.sampler.weights: unknown tiers {sorted(unknown)} (tiers: {', '.join(TIERS)})")
        if any(w < 0 or not math.isfinite(w) for w in weights.values()):
            raise ValueError("data.sampler.weights must be finite and ≥ 0")
        self.weights = weights
        self.alpha = float(_get(cfg, "ema", 0.5))
        self.easy = float(_get(cfg, "easy", 0.75))
        self.medium = float(_get(cfg, "medium", 0.25))
        self.point_tolerance = float(_get(cfg, "point_tolerance", 0.05))
        self.correct_threshold = float(_get(cfg, "correct_threshold", 0.5))
        self.expansion_alpha = float(_get(cfg, "expansion_ema", 0.3))
        self.max_expansion = float(_get(cfg, "max_expansion", 4.0))
        seed = int(_get(cfg, "seed", _get(data_config, "seed", 1)))
        self.rng = random.Random(seed)

        n = len(data_source)
        self._index_of: List[int] = self._row_indices(data_source, n)
        self._positions: Dict[int, List[int]] = {}
        for pos, idx in enumerate(self._index_of):
            self._positions.setdefault(idx, []).append(pos)
        self.ema: Dict[int, Optional[float]] = {}
        tier_of: Dict[int, str] = {}
        for pos, info in enumerate(self._extra_infos(data_source, n)):
            idx = self._index_of[pos]
            tier = str((info or {}).get("tier") or "unrated")
            tier_of[idx] = tier if tier in TIERS else "unrated"
            rate = (info or {}).get("pass_rate")
            self.ema[idx] = float(rate) if rate is not None else None
        tiers_path = _get(cfg, "tiers_path", os.environ.get("STRATUM_RLCS_TIERS"))
        if tiers_path:
            self._load_tiers(str(tiers_path), tier_of)
        self._bucket: Dict[str, List[int]] = {t: [] for t in TIERS}
        self._slot: Dict[int, int] = {}
        self._tier: Dict[int, str] = {}
        for idx in self._positions:
            self._place(idx, tier_of.get(idx, "unrated"))
        self.expansion_ratio = 1.0
        self.last_not_valid_rate: Optional[float] = None
        self.updates = 0

    # ---- dataset access -------------------------------------------------------------------
    @staticmethod
    def _extra_infos(data_source, n: int) -> List[Optional[dict]]:
        frame = getattr(data_source, "dataframe", None)
        if frame is not None:
            try:
                column = frame["extra_info"]
                infos = [dict(x) if x is not None else None for x in column]
                if len(infos) == n:
                    return infos
            except (KeyError, TypeError, ValueError):
                pass
        return [None] * n

    @classmethod
    def _row_indices(cls, data_source, n: int) -> List[int]:
        """verl's batch carries ``index`` = ``extra_info.index`` (rl_dataset); fall back to the row position."""
        out = []
        for pos, info in enumerate(cls._extra_infos(data_source, n)):
            idx = (info or {}).get("index")
            out.append(int(idx) if idx is not None else pos)
        return out

    def _load_tiers(self, path: str, tier_of: Dict[int, str]) -> None:
        with open(path, "r", encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                row = json.loads(line)
                idx = row.get("index")
                if idx is None or int(idx) not in self._positions:
                    continue
                tier = row.get("tier")
                if tier in TIERS:
                    tier_of[int(idx)] = tier
                if row.get("ema") is not None:
                    self.ema[int(idx)] = float(row["ema"])

    # ---- tier buckets (O(1) moves) --------------------------------------------------------
    def _place(self, idx: int, tier: str) -> None:
        old = self._tier.get(idx)
        if old == tier:
            return
        if old is not None:
            bucket = self._bucket[old]
            slot = self._slot[idx]
            last = bucket.pop()
            if last != idx:
                bucket[slot] = last
                self._slot[last] = slot
        self._bucket[tier].append(idx)
        self._slot[idx] = len(self._bucket[tier]) - 1
        self._tier[idx] = tier

    def tier_counts(self) -> Dict[str, int]:
        return {t: len(b) for t, b in self._bucket.items()}

    def tier_of(self, index: int) -> str:
        return self._tier[index]

    # ---- Sampler --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._index_of)

    def _draw(self) -> int:
        masses = [(t, self.weights[t] * len(self._bucket[t])) for t in TIERS]
        total = sum(m for _, m in masses)
        if total <= 0:  # every weight is zero: fall back to uniform
            return self.rng.randrange(len(self._index_of))
        x = self.rng.random() * total
        for tier, mass in masses:
            if mass <= 0:
                continue
            if x < mass:
                bucket = self._bucket[tier]
                idx = bucket[min(int(x / mass * len(bucket)), len(bucket) - 1)]
                positions = self._positions[idx]
                return positions[0] if len(positions) == 1 else self.rng.choice(positions)
            x -= mass
        tier = next(t for t, m in reversed(masses) if m > 0)
        return self._positions[self.rng.choice(self._bucket[tier])][0]

    def __iter__(self) -> Iterator[int]:
        # drawn lazily: weights changed by update() after a step apply to the next batch
        for _ in range(len(self)):
            yield self._draw()

    # ---- curriculum update ----------------------------------------------------------------
    def update(self, batch) -> None:
        ntb = batch.non_tensor_batch
        uids = _to_list(ntb["uid"]) if "uid" in ntb else None
        indices = [int(i) for i in _to_list(ntb["index"])]
        if "acc" in ntb:
            correct = [float(a) >= 0.5 for a in _to_list(ntb["acc"])]
        else:
            scores = batch.batch["token_level_scores"].sum(-1)
            correct = [float(s) >= self.correct_threshold for s in _to_list(scores)]
        if uids is None:
            uids = indices
        groups: Dict[Any, List] = {}
        for uid, idx, ok in zip(uids, indices, correct):
            g = groups.setdefault(uid, [idx, 0, 0])
            g[1] += 1 if ok else 0
            g[2] += 1
        not_valid = 0
        for idx, k, n in groups.values():
            if k == 0 or k == n:
                not_valid += 1
            if idx not in self._tier:
                continue  # a row this sampler does not know (e.g. another dataset's index)
            prev = self.ema.get(idx)
            rate = k / n
            ema = rate if prev is None else (1 - self.alpha) * prev + self.alpha * rate
            self.ema[idx] = ema
            self._place(idx, online_tier(ema, self.easy, self.medium, self.point_tolerance))
        if groups:
            rate = not_valid / len(groups)
            raw = self.max_expansion if rate >= 1 else min(self.max_expansion, 1.0 / (1.0 - rate))
            self.expansion_ratio = raw if self.updates == 0 else (1 - self.expansion_alpha) * self.expansion_ratio + self.expansion_alpha * raw
            self.last_not_valid_rate = rate
        self.updates += 1

    # ---- checkpointing (StatefulDataLoader saves a sampler's state_dict when it has one) ---
    def state_dict(self) -> dict:
        return {
            "ema": dict(self.ema),
            "tier": dict(self._tier),
            "rng": self.rng.getstate(),
            "expansion_ratio": self.expansion_ratio,
            "updates": self.updates,
        }

    def load_state_dict(self, state: dict) -> None:
        self.ema.update({int(k): v for k, v in state.get("ema", {}).items()})
        for idx, tier in state.get("tier", {}).items():
            if int(idx) in self._tier and tier in TIERS:
                self._place(int(idx), tier)
        if "rng" in state:
            rng_state = state["rng"]
            self.rng.setstate((rng_state[0], tuple(rng_state[1]), rng_state[2]))
        self.expansion_ratio = float(state.get("expansion_ratio", self.expansion_ratio))
        self.updates = int(state.get("updates", self.updates))
