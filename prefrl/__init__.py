"""prefrl: deep reinforcement learning from human preferences (Christiano et al., 2017) on MuJoCo.

Layers, arrows pointing down only:

* core (this package's top-level modules): data types, the reward-model ensemble, Bradley-Terry math, pair
  selection, the label schedule, teachers and the preference store. Imports neither gymnasium nor SB3.
* adapters (``prefrl.rl``): VecEnv wrappers, the env stack, rendering.
* apps: the training loop (``prefrl.experiment``), the CLI (``prefrl.cli``) and scripts.
"""

__version__ = "0.1.0"

import os as _os

# Headless rendering by default: MuJoCo picks its OpenGL backend when it is first imported, so this must run
# before anything imports mujoco. A user's own MUJOCO_GL (e.g. "osmesa" or "glfw") is respected.
_os.environ.setdefault("MUJOCO_GL", "egl")
