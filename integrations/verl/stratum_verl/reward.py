"""verl reward function backed by Stratum's reward service.

verl: ``custom_reward_function.path=<repo>/integrations/verl/stratum_verl/reward.py``
``custom_reward_function.name=compute_score`` (or ``compute_score_batch`` with
``reward_model.reward_manager=batch``). Start the service with ``pnpm pipeline serve reward``;
``STRATUM_REWARD_URL`` overrides its address (default ``http://127.0.0.1:8088``).

Rows exported by Stratum carry in ``extra_info`` the verifier ``domain``, the ``question``, the
option texts ``choices`` (so an answer written as the option's text scores like its letter), the
``format`` gate and the row ``index``. The returned dict adds ``acc`` (1.0 when correct) and
``sample_index``, so verl's ``trainer.rollout_data_dir`` dumps can be imported with
``pnpm pipeline rlcs import`` (verl writes no row index of its own).

Only the standard library is used: verl imports this file in its reward workers.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any, Optional

DEFAULT_URL = "http://127.0.0.1:8088"
TIMEOUT_S = float(os.environ.get("STRATUM_REWARD_TIMEOUT", "600"))


def _url() -> str:
    return os.environ.get("STRATUM_REWARD_URL", DEFAULT_URL).rstrip("/") + "/reward"


def _item(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Optional[dict]) -> dict:
    extra = dict(extra_info or {})
    domain = extra.get("domain") or extra.get("verifier")
    if not domain:
        raise ValueError(
            f"row from {data_source!r} has no extra_info.domain: export it with Stratum "
            "(pnpm pipeline run export) or add the verifier domain to extra_info"
        )
    item = {"domain": str(domain), "response": solution_str or "", "ground_truth": "" if ground_truth is None else str(ground_truth)}
    if extra.get("question"):
        item["question"] = str(extra["question"])
    choices = extra.get("choices")
    if choices is not None and len(choices) > 0:
        item["options"] = [str(c) for c in choices]
    if extra.get("format"):
        item["format"] = str(extra["format"])
    return item


def _post(items: list) -> list:
    body = json.dumps({"items": items}).encode("utf-8")
    req = urllib.request.Request(_url(), data=body, headers={"content-type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as res:
            payload = json.loads(res.read().decode("utf-8"))
    except urllib.error.HTTPError as err:
        detail = err.read().decode("utf-8", "replace")[:500]
        raise RuntimeError(f"Stratum reward service at {_url()} answered {err.code}: {detail}") from err
    except urllib.error.URLError as err:
        raise RuntimeError(f"Stratum reward service at {_url()} is unreachable ({err.reason}); start it with `pnpm pipeline serve reward`") from err
    results = payload.get("results")
    if not isinstance(results, list) or len(results) != len(items):
        raise RuntimeError(f"Stratum reward service returned {len(results) if isinstance(results, list) else 'no'} results for {len(items)} items")
    return results


def _result(res: dict, extra_info: Optional[dict]) -> dict:
    out = {
        "score": float(res["score"]),
        "acc": 1.0 if res.get("correct") else 0.0,
        "format_ok": 1.0 if res.get("format_ok") else 0.0,
    }
    index = (extra_info or {}).get("index")
    if index is not None:
        # not "index": verl copies reward keys into the batch, and "index" is already its row index
        out["sample_index"] = int(index)
    return out


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """verl's per-response reward signature (naive / dapo / prime managers)."""
    item = _item(data_source, solution_str, ground_truth, extra_info)
    return _result(_post([item])[0], extra_info)


def compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **kwargs):
    """verl's batch reward signature (``reward_model.reward_manager=batch``): one request for the batch."""
    extra_infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
    items = [_item(d, s, g, e) for d, s, g, e in zip(data_sources, solution_strs, ground_truths, extra_infos)]
    results = _post(items) if items else []
    return [_result(r, e) for r, e in zip(results, extra_infos)]
