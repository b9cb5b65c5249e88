from dolmakit.cli.main import main

main()
