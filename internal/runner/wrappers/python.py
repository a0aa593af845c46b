# Stands in for the Lambda Python runtime's interface client for `threefactor run`: imports the
# handler named by _HANDLER (module.function) from LAMBDA_TASK_ROOT and serves invocations from
# the runtime API at AWS_LAMBDA_RUNTIME_API, one at a time.
import importlib
import json
import os
import sys
import time
import traceback
import urllib.request

BASE = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/"


def post(path, body):
    req = urllib.request.Request(BASE + path, data=body.encode(), method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()


def error_body(exc):
    return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc),
                       "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__)})


class Context:
    def __init__(self, request_id, arn, deadline_ms):
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return int(self._deadline_ms - time.time() * 1000)


def main():
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    module, _, name = os.environ["_HANDLER"].rpartition(".")
    try:
        fn = getattr(importlib.import_module(module), name)
    except Exception as exc:  # noqa: BLE001 - any import failure is an init error
        post("init/error", error_body(exc))
        sys.exit(1)
    while True:
        with urllib.request.urlopen(BASE + "invocation/next") as resp:
            request_id = resp.headers["Lambda-Runtime-Aws-Request-Id"]
            ctx = Context(request_id, resp.headers["Lambda-Runtime-Invoked-Function-Arn"],
                          int(resp.headers["Lambda-Runtime-Deadline-Ms"]))
            event = json.loads(resp.read())
        try:
            result = fn(event, ctx)
            post("invocation/" + request_id + "/response", json.dumps(result))
        except Exception as exc:  # noqa: BLE001 - a function error, reported as Lambda does
            post("invocation/" + request_id + "/error", error_body(exc))


main()
