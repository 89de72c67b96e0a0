"""Entry point for `python -m custom_components.privacy_cam.engine`."""

import sys

from .cli import main

sys.exit(main())
