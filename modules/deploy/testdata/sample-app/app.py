"""A tiny HTTP service: the deploy module's sample app.

GET /health answers 200 with the version; GET / answers the greeting.
It listens on 127.0.0.1:$PORT.
"""
import http.server
import os

from greet import greeting

VERSION = "1.0.0"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = ("ok " + VERSION).encode()
        elif self.path == "/":
            body = greeting(os.environ.get("GREETING", "hello")).encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


if __name__ == "__main__":
    server = http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    print("sample-app", VERSION, "listening on", server.server_address, flush=True)
    server.serve_forever()
