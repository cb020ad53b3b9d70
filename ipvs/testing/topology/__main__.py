"""``python -m ipvs.testing.topology``: the topology's server process (see :func:`main`)."""

import sys

from ipvs.testing.topology import main

sys.exit(main())
