from checkerboard_gan.cli import main

main()
