"""`python -m mmtui` runs the same command line as the `mmtui` script."""

from mmtui.cli import main

if __name__ == "__main__":
    main()
