from cxchange.cli import main

main()
