from teleport_pd_cli.cli import main

main()
