"""`python -m build_tools` is `kb`."""

import sys

from .cli import main

sys.exit(main())
