from dolmakit.cli import main

main()
