"""The applications: one training run top to bottom, sweeps of runs, their reports and videos.

* ``train``: the outer loop of one run (``prefrl train``);
* ``learner``: the reward-learning half of a run (r_hat, its trainer, the teacher, the selector);
* ``checkpoint``, ``logs``: what a run saves, and its CSV logs;
* ``ablations``, ``sweep``, ``report``, ``results``, ``plotting``: many runs, and their tables and plots;
* ``policy_video``: ``prefrl video``.
"""


class RunError(RuntimeError):
    """A run cannot go on (its message says why and what was kept); the CLI prints it and exits with status 1."""
