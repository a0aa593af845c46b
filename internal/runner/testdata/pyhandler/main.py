# A handler whose behaviour each message's body chooses, to test the runner's batch semantics.
import os
import time


def handler(event, context):
    failures = []
    for r in event["Records"]:
        body = r["body"]
        if body == "raise":
            raise RuntimeError("function error")
        if body == "sleep":
            time.sleep(30)
        if body == "exit":
            os._exit(3)
        if body == "bogus":
            return {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}
        if body == "pid":  # which sandbox ran it, for the concurrency test
            print("pid", os.getpid(), flush=True)
            time.sleep(0.2)
        if body == "fail-item":
            failures.append({"itemIdentifier": r["messageId"]})
    return {"batchItemFailures": failures}
