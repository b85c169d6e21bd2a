"""``python -m fer_keras.benchmark`` (the command line is `fer_keras.benchmark.cli`)."""

import sys

from fer_keras.benchmark.cli import main

if __name__ == "__main__":
    sys.exit(main())
