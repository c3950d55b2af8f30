"""`python -m firmware` is the `callbox` command."""

import sys

from firmware.cli import main

sys.exit(main())
