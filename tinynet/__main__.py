import sys

from tinynet.cli import main

sys.exit(main())
