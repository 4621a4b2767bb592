"""Run localstripe on 127.0.0.1, on a port the OS picks, for one test session.

`python -m localstripe` binds every interface on a fixed port and pickles its whole store
to /tmp after every write (shared with anyone else running it); here it binds loopback
only, on a free port that it prints, and keeps its state in memory.
"""
import socket
import sys

from aiohttp import web
from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None

if __name__ == "__main__":
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    sys.stdout.flush()
    web.run_app(server.app, sock=sock, print=None, access_log=None)
