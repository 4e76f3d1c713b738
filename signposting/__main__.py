from signposting.cli import main

main()
