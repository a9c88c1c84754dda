"""Math-Verify peer for `pnpm bench verify`: reads suite cases (JSON lines) on stdin, verifies
each with the upstream configuration the case records, and prints one JSON object per case
({"id", "got"}) then a summary line ({"summary": {"n", "cpu_s"}}) with the process CPU time spent
inside parse + verify only, measured after one untimed warm-up pass and with sympy's cache emptied. Run with PYTHONPATH holding math_verify and latex2sympy2_extended
(see bench/peers/setup-math-verify.sh)."""
import json
import sys
import time

from math_verify import (  # noqa: F401  (names are used by eval of the recorded configs)
    ExprExtractionConfig,
    LatexExtractionConfig,
    StringExtractionConfig,
    parse,
    verify,
)
from math_verify.grader import sympy_expr_eq  # noqa: F401

try:
    from math_verify.parser import IndicesExtractionConfig  # type: ignore  # noqa: F401
except ImportError:  # 0.8.0 has no indices target (lighteval has it)
    IndicesExtractionConfig = None


def configs(case):
    cfg = case.get("config") or {}
    out = []
    for text in cfg.get("extraction_config") or []:
        if text.startswith("IndicesExtractionConfig") and IndicesExtractionConfig is None:
            return None
        out.append(eval(text))  # recorded constructor calls from the suite, e.g. LatexExtractionConfig(boxed_match_priority=0)
    return out or [LatexExtractionConfig(), ExprExtractionConfig()]


def precision(case):
    cfg = case.get("config") or {}
    vk = cfg.get("verify_kwargs")
    if isinstance(vk, dict) and "float_rounding" in vk:
        return vk["float_rounding"]
    if isinstance(cfg.get("precision"), int):
        return cfg["precision"]
    return 6


def run(case):
    kind = case.get("kind")
    cfgs = configs(case)
    if cfgs is None:
        return None
    pred = case.get("pred") or ""
    if kind == "parse_string":
        got = parse(pred, cfgs)
        return bool(got) and [str(x) for x in got[:2]] == case["expected"]
    if kind == "reward_with_reasoning":
        if "</think>" not in pred:
            return False
        pred = pred.split("</think>", 1)[1]
    gold = case.get("gold") or ""
    vk = (case.get("config") or {}).get("verify_kwargs")
    allow = isinstance(vk, dict) and vk.get("allow_set_relation_comp", False)
    g = parse(gold, cfgs)
    p = parse(pred, cfgs)
    return bool(verify(g, p, float_rounding=precision(case), allow_set_relation_comp=allow))


# Generic answer pairs for the warm-up (kept in sync with WARM_UP in bench/verify.ts).
WARM_UP = [
    ("$\\frac{7}{3}$", "The answer is $\\frac{14}{6}$."),
    ("$12$", "so we get 12 apples"),
    ("$2\\sqrt{5}$", "$\\sqrt{20}$"),
    ("$x^2 + 2x + 1$", "$(x+1)^2$"),
    ("$\\{1, 3, 5\\}$", "$\\{5, 3, 1\\}$"),
    ("$(-\\infty, 2] \\cup (4, \\infty)$", "$x \\le 2$ or $x > 4$"),
    ("$y = 3x - 2$", "$y - 3x + 2 = 0$"),
    ("$\\begin{pmatrix} 2 & 0 \\\\ 1 & 5 \\end{pmatrix}$", "$\\begin{pmatrix} 2 & 0 \\\\ 1 & 5 \\end{pmatrix}$"),
    ("$\\sin(\\pi/6)$", "$0.5$"),
    ("$3.75$", "Final answer: 15/4"),
    ("$(2, -1)$", "$(2,-1)$"),
    ("$\\pi r^2$", "$r^2 \\pi$"),
]


def main():
    cases = [json.loads(line) for line in sys.stdin if line.strip()]
    # Warm the runtime (imports, compiled patterns, the parser's tables) on answers that are not the
    # timed cases, then empty sympy's expression cache so the timed pass is cold, as the Stratum side
    # is (warmed on the same answers, its parse cache emptied).
    for gold, pred in WARM_UP:
        try:
            verify(parse(gold), parse(pred))
        except Exception:  # noqa: BLE001
            pass
    from sympy.core.cache import clear_cache

    clear_cache()
    cpu = 0.0
    n = 0
    for case in cases:
        t = time.process_time()
        try:
            got = run(case)
        except Exception:  # noqa: BLE001  an upstream error counts as "not verified"
            got = False
        cpu += time.process_time() - t
        n += 1
        sys.stdout.write(json.dumps({"id": case.get("id"), "got": got}) + "\n")
    sys.stdout.write(json.dumps({"summary": {"n": n, "cpu_s": cpu}}) + "\n")


if __name__ == "__main__":
    main()
