"""``python -m wasmrun`` runs the command-line interface."""

from wasmrun.cli import main

if __name__ == "__main__":
    main()
