"""B1 peer (c): polling deployments the way a user would in Python 3, with urllib and json.

Usage: poll-urllib.py URL PROJECT KEY_FILE NAMES_FILE CYCLES [--keep-alive] [--ca-file=FILE]

By default every request goes through urllib.request.urlopen, which opens a new connection
each time (urllib has no connection reuse). --keep-alive instead reuses one
http.client.HTTPConnection (HTTPSConnection for an https:// URL), what a user who cared about
cost would write. --ca-file: the CA to trust for HTTPS.
Prints "name<TAB>status<TAB>error messages" per poll."""

import http.client
import json
import ssl
import sys
import urllib.parse
import urllib.request


def main():
    url, project, key_file, names_file, cycles = sys.argv[1:6]
    keep_alive = "--keep-alive" in sys.argv[6:]
    ca = [a.split("=", 1)[1] for a in sys.argv[6:] if a.startswith("--ca-file=")]
    ctx = ssl.create_default_context(cafile=ca[0] if ca else None)
    with open(key_file) as f:
        key = f.read().strip()
    with open(names_file) as f:
        names = f.read().split()
    headers = {"Authorization": "APIKey " + key, "Accept": "application/json"}
    conn = None
    if keep_alive:
        u = urllib.parse.urlsplit(url)
        if u.scheme == "https":
            conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=10, context=ctx)
        else:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    for _ in range(int(cycles)):
        for name in names:
            path = "/cloud/v3/inference/%s/deployments/%s" % (project, urllib.parse.quote(name, safe=""))
            if conn:
                conn.request("GET", path, headers=headers)
                d = json.loads(conn.getresponse().read())
            else:
                with urllib.request.urlopen(urllib.request.Request(url + path, headers=headers), timeout=10,
                                            context=ctx if url.startswith("https:") else None) as r:
                    d = json.load(r)
            errors = [c["error_message"] for c in d.get("containers") or [] if c.get("error_message")]
            print(d["name"], d["status"], "; ".join(errors), sep="\t")


main()
