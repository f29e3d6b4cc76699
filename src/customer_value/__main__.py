"""``python -m customer_value``: the ``customer-value`` command line."""

import sys

from customer_value.cli import main

if __name__ == "__main__":
    sys.exit(main())
