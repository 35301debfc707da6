"""python3 -m lattice.onnx_import MODEL -o OUT.mlir: the importer's command line."""

import sys

from . import main

sys.exit(main())
