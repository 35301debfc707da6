"""python3 -m lattice MODEL --recipe R -o PREFIX: lattice.compiler's command
line (what `lattice-compile MODEL --recipe R` runs)."""

import sys

from .compiler import main

sys.exit(main())
