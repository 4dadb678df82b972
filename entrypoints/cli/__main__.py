from motcua.entrypoints.cli.main import main

main()
