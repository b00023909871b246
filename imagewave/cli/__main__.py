"""`python -m imagewave.cli`: the same command as `imagewave`."""

import sys

from imagewave.cli import main

sys.exit(main())
