# A Python HTTP function for the runner's tests on Google: 204 for a message whose data is "ok",
# 500 otherwise.
import base64

import functions_framework


@functions_framework.http
def handle(request):
    data = base64.b64decode(request.get_json()["message"].get("data", "")).decode()
    if data == "ok":
        return "", 204
    return "failing " + data, 500
