"""``python -m latentcsp.cli``: the ``latentcsp`` command."""

from . import main

main()
