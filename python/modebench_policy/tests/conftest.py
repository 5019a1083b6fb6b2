import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package from this checkout
VECTORS = os.path.abspath(os.path.join(HERE, "..", "..", "..", "tests", "vectors"))
