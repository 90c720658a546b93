"""The applications: one training run top to bottom, sweeps of runs, their reports and videos.

* ``train``: the outer loop of one run (``prefrl train``); ``run_setup``: its options and run directory;
* ``learner``: the reward-learning half of a run (r_hat, its trainer, the teacher, the selector);
* ``checkpoint``, ``logs``: what a run saves, and its CSV logs;
* ``ablations``, ``sweep``, ``report``, ``results``, ``plotting``: many runs, and their tables and plots;
* ``policy_video``: ``prefrl video``.
"""


class RunError(RuntimeError):
    """A run cannot go on (its message says why and what was kept); the CLI prints it and exits with status 1."""


def os_error_text(error: OSError) -> str:
    """One line for a failed file operation: the file, then why (``/x/y: No such file or directory``)."""
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}"
