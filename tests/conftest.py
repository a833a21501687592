import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# tiny networks run fastest on one thread; more only adds synchronisation on 2 cores
torch.set_num_threads(1)

# trained models are cached in a folder of this test session, never in the user's home
import os  # noqa: E402
import tempfile  # noqa: E402

os.environ["ERASURE_CACHE_DIR"] = tempfile.mkdtemp(prefix="erasure-test-cache-")
