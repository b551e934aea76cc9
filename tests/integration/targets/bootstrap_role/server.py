"""Reads the server under test directly (not through the modules): logs in
as root@pam, or authenticates with an API token, and prints the `data` of a
GET as JSON, or the HTTP status with --status.

  server.py GET PATH                      (root@pam, SIM_URL/SIM_FP/SIM_PW)
  server.py --token ID=SECRET --status GET PATH

The certificate is pinned to SIM_FP, as the modules' `fingerprint` does.
"""

import hashlib
import http.client
import json
import os
import ssl
import sys
import urllib.parse


def connect():
    url = urllib.parse.urlsplit(os.environ["SIM_URL"])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(url.hostname, url.port, context=ctx, timeout=30)
    conn.connect()
    der = conn.sock.getpeercert(binary_form=True)
    want = os.environ["SIM_FP"].replace(":", "").lower()
    if hashlib.sha256(der).hexdigest() != want:
        sys.exit("server.py: the certificate does not match SIM_FP")
    return conn


def request(method, path, headers, body=None):
    conn = connect()
    conn.request(method, "/api2/json" + path, body=body, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def main(argv):
    token = None
    status_only = False
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--token":
            token = argv.pop(0)
        elif opt == "--status":
            status_only = True
        else:
            sys.exit(f"server.py: unknown option {opt}")
    method, path = argv
    if token:
        headers = {"Authorization": "PVEAPIToken=" + token}
    else:
        form = urllib.parse.urlencode({"username": "root@pam", "password": os.environ["SIM_PW"]})
        status, body = request(
            "POST", "/access/ticket", {"Content-Type": "application/x-www-form-urlencoded"}, form
        )
        if status != 200:
            sys.exit(f"server.py: root login failed with {status}")
        headers = {"Cookie": "PVEAuthCookie=" + urllib.parse.quote(json.loads(body)["data"]["ticket"])}
    status, body = request(method, path, headers)
    if status_only:
        print(status)
    elif status == 200:
        print(json.dumps(json.loads(body)["data"]))
    else:
        sys.exit(f"server.py: {method} {path}: {status}")


main(sys.argv[1:])
