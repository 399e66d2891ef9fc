from benchmark_store.main import main

main()
