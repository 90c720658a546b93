"""People labeling clip pairs in a browser.

* ``queue``: which pair each labeler sees next (leases, undo, serving order), over the run's store;
* ``clip_videos``: the background renderer of the pairs about to be shown;
* ``web``: the FastAPI app and the server that runs it in background threads;
* ``answers_io``: answers with their clips to and from JSON Lines;
* ``commands``: ``prefrl label``, ``prefrl export`` and ``prefrl import``.
"""

DEFAULT_PORT = 8765
"""Where the labeling page listens unless told otherwise."""
