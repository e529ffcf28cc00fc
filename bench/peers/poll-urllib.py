"""B1 peer (c): polling deployments the way a user would in Python 3, with urllib and json.

Usage: poll-urllib.py URL PROJECT KEY_FILE NAMES_FILE CYCLES [--keep-alive]

By default every request goes through urllib.request.urlopen, which opens a new connection
each time (urllib has no connection reuse). --keep-alive instead reuses one
http.client.HTTPConnection, what a user who cared about cost would write.
Prints "name<TAB>status<TAB>error messages" per poll."""

import http.client
import json
import sys
import urllib.parse
import urllib.request


def main():
    url, project, key_file, names_file, cycles = sys.argv[1:6]
    keep_alive = "--keep-alive" in sys.argv[6:]
    with open(key_file) as f:
        key = f.read().strip()
    with open(names_file) as f:
        names = f.read().split()
    headers = {"Authorization": "APIKey " + key, "Accept": "application/json"}
    conn = None
    if keep_alive:
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    for _ in range(int(cycles)):
        for name in names:
            path = "/cloud/v3/inference/%s/deployments/%s" % (project, urllib.parse.quote(name, safe=""))
            if conn:
                conn.request("GET", path, headers=headers)
                d = json.loads(conn.getresponse().read())
            else:
                with urllib.request.urlopen(urllib.request.Request(url + path, headers=headers), timeout=10) as r:
                    d = json.load(r)
            errors = [c["error_message"] for c in d.get("containers") or [] if c.get("error_message")]
            print(d["name"], d["status"], "; ".join(errors), sep="\t")


main()
