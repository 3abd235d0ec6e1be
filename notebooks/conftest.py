"""nbval runs these notebooks in real kernels; their store goes to a temp dir.

The kernels inherit this environment, so NBTRACK_URI set here is the store
every notebook writes to (nothing lands beside the notebooks).
"""

from __future__ import annotations

import os
import tempfile

_store_dir = tempfile.mkdtemp(prefix="nbtrack-notebooks-")
os.environ["NBTRACK_URI"] = f"sqlite:///{os.path.join(_store_dir, 'nbtrack.db')}"
os.environ["NBTRACK_ARTIFACTS"] = os.path.join(_store_dir, "artifacts")
os.environ.pop("NBTRACK_NO_AUTOLOAD", None)  # the notebooks rely on autoload
