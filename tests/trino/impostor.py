"""A TLS server that poses as a Trino node: it presents the certificate it is given and
counts what arrives. Used by e2e-expiry.sh to show that a coordinator's internal client,
with host-name verification on, refuses a server whose Consul leaf names another service.

    python3 impostor.py PORT KEY_PEM CHAIN_PEM COUNTS_FILE

COUNTS_FILE is rewritten after every connection: "<connections> <handshakes> <requests>".
A request is an HTTP request line received after a completed handshake (it would carry the
internal JWT). Stops on SIGTERM.
"""
import signal
import socket
import ssl
import sys

port, key, chain, counts_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(certfile=chain, keyfile=key)
# No client certificate is asked for: the point is what the *client* decides about us.
context.verify_mode = ssl.CERT_NONE

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
connections = handshakes = requests = 0


def save():
    with open(counts_file + ".tmp", "w") as f:
        f.write(f"{connections} {handshakes} {requests}\n")
    import os
    os.replace(counts_file + ".tmp", counts_file)


save()
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    while True:
        raw, _ = server.accept()
        connections += 1
        raw.settimeout(3)
        try:
            with context.wrap_socket(raw, server_side=True) as tls:
                handshakes += 1
                data = tls.recv(4096)
                if data.split(b" ", 1)[0] in (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE"):
                    requests += 1
        except (ssl.SSLError, OSError):
            pass
        finally:
            raw.close()
            save()
