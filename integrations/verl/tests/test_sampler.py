import json
import os
import random
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "stubs"), os.path.dirname(HERE)]

from verl import DataProto, Tensorish  # noqa: E402  (stand-in, see stubs/README.md)
from verl.experimental.dataset.sampler import AbstractCurriculumSampler  # noqa: E402
from stratum_verl.sampler import StratumCurriculumSampler, online_tier  # noqa: E402


class FakeDataset:
    """What the sampler reads of verl's RLHFDataset: len() and dataframe["extra_info"]."""

    def __init__(self, infos):
        self.dataframe = {"extra_info": infos}

    def __len__(self):
        return len(self.dataframe["extra_info"])


def dataset(tiers, base=10_000):
    return FakeDataset([{"index": base + i * 7, "id": f"s{i}", "tier": t, "pass_rate": None} for i, t in enumerate(tiers)])


def config(**sampler):
    return {"sampler": {"class_path": "x", "class_name": "StratumCurriculumSampler", **sampler}, "seed": 3}


def batch_for(groups, with_acc=True, scores_scale=1.0):
    """groups: list of (index, [bool...]) → a DataProto shaped like verl's after the reward step."""
    uids, idx, acc, scores = [], [], [], []
    for g, (index, outcomes) in enumerate(groups):
        for ok in outcomes:
            uids.append(f"uid-{g}")
            idx.append(index)
            acc.append(1.0 if ok else 0.0)
            scores.append([0.0, 0.0, scores_scale if ok else 0.0])
    ntb = {"uid": uids, "index": idx}
    if with_acc:
        ntb["acc"] = acc
    return DataProto(batch={"token_level_scores": Tensorish(scores)}, non_tensor_batch=ntb)


class SamplerTest(unittest.TestCase):
    def test_is_a_verl_curriculum_sampler_and_the_interface_is_enforced(self):
        s = StratumCurriculumSampler(dataset(["medium"] * 3), config())
        self.assertIsInstance(s, AbstractCurriculumSampler)

        class Incomplete(AbstractCurriculumSampler):
            def __init__(self, data_source, data_config):
                pass

        with self.assertRaises(TypeError):
            Incomplete(None, None)

    def test_draws_follow_tier_weights(self):
        tiers = ["solved"] * 40 + ["medium"] * 40 + ["unsolved"] * 20
        s = StratumCurriculumSampler(dataset(tiers), config(weights={"solved": 0.25, "medium": 1.0, "unsolved": 0.0}))
        counts = {"solved": 0, "medium": 0, "unsolved": 0}
        draws = 0
        for _ in range(40):
            for pos in s:
                counts[tiers[pos]] += 1
                draws += 1
        self.assertEqual(len(s), 100)
        self.assertEqual(counts["unsolved"], 0)
        # expected share of solved: 0.25·40 / (0.25·40 + 40) = 0.2; binomial sd over 4000 draws ≈ 0.0063
        self.assertAlmostEqual(counts["solved"] / draws, 0.2, delta=0.03)

    def test_update_folds_group_pass_rates_into_the_ema_and_moves_tiers(self):
        ds = dataset(["unrated"] * 4)
        s = StratumCurriculumSampler(ds, config(ema=0.5))
        a, b, c, d = [info["index"] for info in ds.dataframe["extra_info"]]
        s.update(batch_for([(a, [True] * 8), (b, [False] * 8), (c, [True] * 4 + [False] * 4), (d, [True, False, False, False])]))
        self.assertEqual((s.tier_of(a), s.tier_of(b), s.tier_of(c), s.tier_of(d)), ("solved", "unsolved", "medium", "medium"))
        self.assertEqual(s.ema[d], 0.25)
        s.update(batch_for([(d, [False] * 4)]))
        self.assertAlmostEqual(s.ema[d], 0.125)
        self.assertEqual(s.tier_of(d), "hard")
        self.assertEqual(sum(s.tier_counts().values()), 4)
        # without `acc` the summed token scores decide, at correct_threshold
        s2 = StratumCurriculumSampler(ds, config(correct_threshold=0.5))
        s2.update(batch_for([(a, [True] * 2 + [False] * 2)], with_acc=False, scores_scale=1.0))
        self.assertEqual(s2.ema[a], 0.5)
        s3 = StratumCurriculumSampler(ds, config(correct_threshold=0.5))
        s3.update(batch_for([(a, [True] * 4)], with_acc=False, scores_scale=0.4))
        self.assertEqual(s3.tier_of(a), "unsolved")

    def test_expansion_ratio_tracks_not_valid_groups(self):
        ds = dataset(["medium"] * 4)
        s = StratumCurriculumSampler(ds, config(expansion_ema=0.5, max_expansion=4))
        idx = [info["index"] for info in ds.dataframe["extra_info"]]
        s.update(batch_for([(idx[0], [True] * 4), (idx[1], [False] * 4), (idx[2], [True, False]), (idx[3], [True, False])]))
        self.assertAlmostEqual(s.expansion_ratio, 2.0)  # half not valid → 1 / (1 − 0.5)
        s.update(batch_for([(i, [True] * 4) for i in idx]))
        self.assertAlmostEqual(s.expansion_ratio, 0.5 * 2.0 + 0.5 * 4.0)  # all not valid → capped at 4

    def test_reads_a_tier_table_and_ignores_rows_it_does_not_know(self):
        ds = dataset(["unrated"] * 3)
        idx = [info["index"] for info in ds.dataframe["extra_info"]]
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as fh:
            fh.write(json.dumps({"index": idx[0], "tier": "hard", "ema": 0.1}) + "\n\n")
            fh.write(json.dumps({"index": 123, "tier": "easy"}) + "\n")
            fh.write(json.dumps({"index": idx[2], "id": "x", "tier": "solved", "weight": 0.1, "rank": 1}) + "\n")
        try:
            s = StratumCurriculumSampler(ds, config(tiers_path=fh.name))
        finally:
            os.unlink(fh.name)
        self.assertEqual([s.tier_of(i) for i in idx], ["hard", "unrated", "solved"])
        self.assertEqual(s.ema[idx[0]], 0.1)
        s.update(batch_for([(999, [True] * 4)]))  # unknown index: counted for expansion, no crash

    def test_rejects_unknown_tiers_in_weights(self):
        with self.assertRaises(ValueError):
            StratumCurriculumSampler(dataset(["easy"]), config(weights={"trivial": 1.0}))

    def test_state_dict_round_trip_resumes_the_same_draws(self):
        ds = dataset(["medium", "easy", "hard", "solved"] * 5)
        s = StratumCurriculumSampler(ds, config())
        s.update(batch_for([(ds.dataframe["extra_info"][0]["index"], [True] * 4)]))
        state = s.state_dict()
        t = StratumCurriculumSampler(ds, config())
        t.load_state_dict(state)
        self.assertEqual(list(s), list(t))

    def test_curriculum_sees_more_informative_groups_than_uniform_sampling(self):
        """Per-item success rates rise with training; mixed-outcome groups are what GRPO learns from."""
        rng = random.Random(11)
        n_items, batch, n, steps = 300, 32, 8, 40
        p0 = [rng.choice([0.0, 0.02, 0.1, 0.3, 0.6, 0.9, 0.98, 1.0]) for _ in range(n_items)]
        ds = FakeDataset([{"index": i, "tier": "unrated"} for i in range(n_items)])
        sampler = StratumCurriculumSampler(ds, config(seed=5))
        informative = {"curriculum": 0, "uniform": 0}
        total = {"curriculum": 0, "uniform": 0}
        it = iter(sampler)

        def next_pick():
            nonlocal it
            try:
                return next(it)
            except StopIteration:  # a new epoch, as verl's dataloader starts one
                it = iter(sampler)
                return next(it)

        for step in range(steps):
            p = [min(1.0, q + 0.005 * step) if 0 < q < 1 else q for q in p0]
            for arm in ("curriculum", "uniform"):
                picks = [next_pick() for _ in range(batch)] if arm == "curriculum" else [rng.randrange(n_items) for _ in range(batch)]
                groups = [(i, [rng.random() < p[i] for _ in range(n)]) for i in picks]
                for _, outcomes in groups:
                    k = sum(outcomes)
                    informative[arm] += 0 < k < n
                    total[arm] += 1
                if arm == "curriculum":
                    sampler.update(batch_for(groups))
        share = {arm: informative[arm] / total[arm] for arm in total}
        print(f"informative share: curriculum {share['curriculum']:.3f}, uniform {share['uniform']:.3f}", file=sys.stderr)
        self.assertGreater(share["curriculum"], share["uniform"] + 0.1)

    def test_online_tier_matches_the_typescript_rules(self):
        cases = [(1.0, "solved"), (0.96, "solved"), (0.9, "easy"), (0.75, "easy"), (0.5, "medium"), (0.25, "medium"), (0.2, "hard"), (0.04, "unsolved"), (0.0, "unsolved")]
        for ema, tier in cases:
            self.assertEqual(online_tier(ema, 0.75, 0.25, 0.05), tier, ema)


if __name__ == "__main__":
    unittest.main()
