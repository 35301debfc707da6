"""Makes `import lattice` resolve to python/lattice when pytest runs from the
repository."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
