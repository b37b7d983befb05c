"""`python -m vitalwatch` is the `vitalwatch` command."""

from vitalwatch.cli import main

main()
