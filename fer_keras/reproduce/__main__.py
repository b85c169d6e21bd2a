"""`python -m fer_keras.reproduce`: see fer_keras/reproduce/__init__.py."""

import sys

from fer_keras.reproduce.cli import main

sys.exit(main())
