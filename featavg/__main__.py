"""``python -m featavg``: the ``featavg`` command line."""

import sys

from featavg.cli import main

sys.exit(main())
