"""An HTTP/2 server over TLS (python3-h2) that ends every connection after LIMIT requests the way
nginx does after keepalive_requests: it answers up to the LIMIT-th request, sends GOAWAY naming
that stream as the last it processes, and closes the connection; requests that came after it on
that connection are left unanswered (not processed, RFC 9113 section 6.8). To make that case
certain, the LIMIT-th answer waits until one more request has come on the connection (at most
HOLD seconds). Files are served from DOCROOT (the query string ignored; 404 for a missing one).

    python3 h2-goaway-server.py DOCROOT CERT KEY LIMIT HOLD PORT_FILE LOG_FILE

Writes its port to PORT_FILE once it listens; LOG_FILE gets a JSON line per event:
{"conn", "event": "connection" | "request" | "unanswered" | "goaway", "stream", "path"}.
"""

import json
import os
import socket
import ssl
import sys
import threading

import h2.config
import h2.connection
import h2.events
import h2.exceptions

DOCROOT, CERT, KEY, LIMIT, HOLD, PORT_FILE, LOG_FILE = sys.argv[1:8]
LIMIT, HOLD = int(LIMIT), float(HOLD)
_lock = threading.Lock()
_log = open(LOG_FILE, "a", buffering=1)


def log(**event):
    with _lock:
        _log.write(json.dumps(event) + "\n")


def answer(conn, stream, path):
    try:
        with open(os.path.join(DOCROOT, path.split("?")[0].lstrip("/")), "rb") as f:
            body, status = f.read(), "200"
    except OSError:
        body, status = b'{"exception_class": "NotFoundError", "message": "not found"}', "404"
    conn.send_headers(stream, [(":status", status), ("content-type", "application/json"),
                               ("content-length", str(len(body)))])
    conn.send_data(stream, body, end_stream=True)


def serve(raw, cid, ctx):
    try:
        tls = ctx.wrap_socket(raw, server_side=True)
    except (OSError, ssl.SSLError):
        raw.close()
        return
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    tls.sendall(conn.data_to_send())
    log(conn=cid, event="connection")
    served, held, another = 0, None, False
    try:
        while True:
            tls.settimeout(HOLD if held else None)
            try:
                data = tls.recv(65536)
            except socket.timeout:
                data = None
            if data == b"":
                return
            events = conn.receive_data(data) if data else []
            for ev in events:
                if not isinstance(ev, h2.events.RequestReceived):
                    continue
                path = dict((k.decode(), v.decode()) for k, v in ev.headers)[":path"]
                if held:
                    log(conn=cid, event="unanswered", stream=ev.stream_id, path=path)
                    another = True
                    continue
                log(conn=cid, event="request", stream=ev.stream_id, path=path)
                served += 1
                if served == LIMIT:
                    held = (ev.stream_id, path)
                else:
                    answer(conn, ev.stream_id, path)
            # The held answer goes once another request came (or HOLD passed), with the GOAWAY.
            if held and (data is None or another):
                answer(conn, *held)
                conn.close_connection(last_stream_id=held[0])
                log(conn=cid, event="goaway", stream=held[0])
                tls.sendall(conn.data_to_send())
                return
            out = conn.data_to_send()
            if out:
                tls.sendall(out)
    except (OSError, ssl.SSLError, h2.exceptions.ProtocolError):
        return
    finally:
        tls.close()


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    ctx.set_alpn_protocols(["h2"])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    with open(PORT_FILE + ".new", "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.rename(PORT_FILE + ".new", PORT_FILE)
    cid = 0
    while True:
        raw, _ = listener.accept()
        cid += 1
        threading.Thread(target=serve, args=(raw, cid, ctx), daemon=True).start()


if __name__ == "__main__":
    main()
