"""`python -m functions`: the backend's command line (see `functions.cli`)."""

import sys

from functions.cli import main

sys.exit(main())
