"""``python -m ekyc.cli``."""

import sys

from ekyc.cli import main

sys.exit(main())
