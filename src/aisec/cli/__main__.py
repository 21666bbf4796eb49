"""``python -m aisec.cli``: the same as the ``aisec`` command."""

from aisec.cli.main import run

run()
