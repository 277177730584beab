from weishang_core.cli import main

main()
