import os
import sys

# The project packages (gen, sim, reports, boards) live at the repo root; tests import
# helpers from this folder too.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.dirname(os.path.abspath(__file__))):
    if path not in sys.path:
        sys.path.insert(0, path)
