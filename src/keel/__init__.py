"""keel: keep AI-trains-AI loops anchored to verified human data."""

import logging

__version__ = "0.1.0"

# A library logs; the application decides where it goes (the `keel` command prints warnings).
logging.getLogger("keel").addHandler(logging.NullHandler())
