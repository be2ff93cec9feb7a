"""`python -m tg` runs the same CLI as the `tg` console script."""

from tg.main import main

if __name__ == "__main__":
    main()
