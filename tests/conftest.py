import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# tiny networks run fastest on one thread; more only adds synchronisation on 2 cores
torch.set_num_threads(1)
