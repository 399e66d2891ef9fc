from submission_api.main import main

main()
