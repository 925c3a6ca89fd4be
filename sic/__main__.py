"""``python -m sic`` runs the ``sic`` command."""

from sic.cli import main

if __name__ == "__main__":
    main()
