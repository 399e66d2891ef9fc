from scorer.worker import main

main()
