import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# the package from this checkout, the case modules, and the test aids (ir_eval)
for p in (HERE.parent, HERE.parent / "cases", HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
