"""``python -m botwire.server``: the same as ``botwire serve``."""

from botwire.server.cli import serve

if __name__ == "__main__":
    serve(prog_name="python -m botwire.server")
