"""`python -m teleport_pd_cli`: the `tpd` command line."""

from teleport_pd_cli.cli import main

main()
