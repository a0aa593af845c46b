# Stands in for the Functions Framework for Python for `threefactor run` on Google: imports main.py
# from the working directory and serves the HTTP function named by FUNCTION_TARGET on
# 127.0.0.1:PORT, one request at a time. The function takes a request with what HTTP functions use
# of Flask's (method, headers, data, get_data(), get_json(), json, args, path) and returns what Flask
# turns into a response: a body (str, bytes, dict), or a tuple (body, status[, headers]). The
# functions_framework module's http decorator is answered here.
import http.server
import json
import os
import sys
import traceback
import types
import urllib.parse

framework = types.ModuleType("functions_framework")
framework.http = lambda fn: fn


def cloud_event(fn):
    raise RuntimeError(fn.__name__ + ": CloudEvent functions are not served here; a push subscription calls an HTTP function")


framework.cloud_event = cloud_event
sys.modules["functions_framework"] = framework
sys.path.insert(0, os.getcwd())
sys.dont_write_bytecode = True
import main  # noqa: E402

target = os.environ["FUNCTION_TARGET"]
fn = getattr(main, target, None)
if not callable(fn):
    sys.exit("main.py has no function " + target + " (function.entry_point)")


class Request:
    def __init__(self, handler, data):
        url = urllib.parse.urlsplit(handler.path)
        self.method, self.headers, self.data, self.path = handler.command, handler.headers, data, url.path
        self.args = dict(urllib.parse.parse_qsl(url.query))

    def get_data(self, as_text=False):
        return self.data.decode() if as_text else self.data

    def get_json(self, force=False, silent=False):
        if not force and not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return None
        try:
            return json.loads(self.data)
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self):
        return self.get_json()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        req = Request(self, self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        status, headers = 200, {}
        try:
            body = fn(req)
        except Exception:
            traceback.print_exc()
            body, status = "Internal Server Error", 500
        if isinstance(body, tuple):
            body, status, headers = (body + ({},))[:3] if len(body) == 2 else body
        if isinstance(body, (dict, list)):
            body, headers = json.dumps(body), {**headers, "Content-Type": "application/json"}
        body = body.encode() if isinstance(body, str) else (body or b"")
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_DELETE = do_POST

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
