import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# two cores: keep torch from oversubscribing when pytest runs alongside other work
torch.set_num_threads(min(2, os.cpu_count() or 1))
