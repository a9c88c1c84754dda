"""Stratum integration for verl: a reward function and an RLCS curriculum sampler.

- ``stratum_verl.reward.compute_score`` / ``compute_score_batch``: verl ``custom_reward_function``;
  scores through Stratum's reward service (``pnpm pipeline serve reward``).
- ``stratum_verl.sampler.StratumCurriculumSampler``: verl ``data.sampler`` (an
  ``AbstractCurriculumSampler``) that weights prompts by curriculum tier and updates each prompt's
  tier from the pass rates of its rollout groups after every step.

See docs/rlcs.md.
"""
