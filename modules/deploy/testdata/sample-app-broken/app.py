"""Version 2.0.0 of the sample app, broken: it exits at start."""
import sys

VERSION = "2.0.0"

if __name__ == "__main__":
    print("sample-app", VERSION, "cannot start: missing configuration", file=sys.stderr, flush=True)
    sys.exit(3)
