"""Learning a reward from preferences: the pure maths, no simulator.

* ``bradley_terry``: the preference probability of two clips and its loss (with the paper's 10% random answers);
* ``reward_model``: the r_hat ensemble as one batched torch module, and its numpy view for the env stack;
* ``reward_training``: bootstrap resamples, the held-out split, adaptive L2, regression (ablation);
* ``selection``: which pairs to ask about (random, or where the ensemble disagrees most);
* ``label_schedule``: how many labels are due at each timestep.
"""
