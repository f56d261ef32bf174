"""``python -m nestpy.cli``: the same as the ``nestpy`` command."""

import sys

from nestpy.cli.main import main

sys.exit(main())
