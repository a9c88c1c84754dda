"""compute_score against a running Stratum reward service and rows exported by Stratum.

The vitest suite test/rlcs/verl-integration.test.ts starts the service, exports the bundled example
job and writes the cases; run alone, these tests skip (they need STRATUM_REWARD_URL and
STRATUM_REWARD_CASES).
"""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE)]

from stratum_verl import reward  # noqa: E402

CASES = os.environ.get("STRATUM_REWARD_CASES")


@unittest.skipUnless(CASES and os.environ.get("STRATUM_REWARD_URL"), "needs a reward service and exported cases")
class RewardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(CASES, encoding="utf-8") as fh:
            cls.cases = [json.loads(line) for line in fh if line.strip()]

    def test_each_case_scores_as_expected_with_verls_call(self):
        failures = []
        for c in self.cases:
            # exactly how verl's NaiveRewardManager calls it, plus the extra kwargs load_reward_manager binds
            out = reward.compute_score(
                data_source=c["data_source"], solution_str=c["response"], ground_truth=c["ground_truth"], extra_info=dict(c["extra_info"]), reward_kwargs_example=1
            )
            if out["acc"] != c["expect_acc"]:
                failures.append(f"{c['data_source']} {c['label']}: {c['response']!r} vs {c['ground_truth']!r} → {out}")
            self.assertEqual(out["sample_index"], c["extra_info"]["index"])
            self.assertIsInstance(out["score"], float)
        self.assertEqual(failures, [])

    def test_batch_signature_gives_the_same_results(self):
        cs = self.cases
        outs = reward.compute_score_batch(
            data_sources=[c["data_source"] for c in cs], solution_strs=[c["response"] for c in cs], ground_truths=[c["ground_truth"] for c in cs],
            extra_infos=[dict(c["extra_info"]) for c in cs], some_kwarg="x",
        )
        self.assertEqual([o["acc"] for o in outs], [c["expect_acc"] for c in cs])

    def test_a_row_without_a_domain_is_a_clear_error(self):
        with self.assertRaisesRegex(ValueError, "extra_info.domain"):
            reward.compute_score("openai/gsm8k", "x", "1", {"index": 1})


class UnreachableTest(unittest.TestCase):
    def test_names_the_service_when_it_is_down(self):
        old = os.environ.get("STRATUM_REWARD_URL")
        os.environ["STRATUM_REWARD_URL"] = "http://127.0.0.1:9"
        try:
            with self.assertRaisesRegex(RuntimeError, "pnpm pipeline serve reward"):
                reward.compute_score("d/s", "x", "1", {"domain": "math", "index": 1})
        finally:
            if old is None:
                del os.environ["STRATUM_REWARD_URL"]
            else:
                os.environ["STRATUM_REWARD_URL"] = old


if __name__ == "__main__":
    unittest.main()
