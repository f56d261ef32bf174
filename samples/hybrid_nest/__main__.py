from samples.hybrid_nest.main import main

main()
