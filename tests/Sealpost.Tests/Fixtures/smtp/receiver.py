"""A scripted SMTP receiver for outbound delivery tests (aiosmtpd, Debian python3-aiosmtpd).

Listens on 127.0.0.1 (port 0 unless given), prints "port N" once ready, and answers each RCPT by
the recipient's local part:
  temp-once*  451 4.7.1 the first time that address is seen, 250 after
  temp*       451 4.7.1 always
  reject*     550 5.1.1 no such user
  slow*       250, but the reply to DATA comes after 6 seconds
  anything else 250
Each accepted message is written to OUT/N.eml with "X-Envelope-From:" and "X-Envelope-To:" lines
first. With CERT and KEY, STARTTLS is offered; HOST (default 127.0.0.1) may be ::1. Each file also
records the session (X-Receiver-Session) and the client address (X-Receiver-Peer). With LOGIN
("user:password"), AUTH PLAIN and LOGIN are offered after STARTTLS and required for MAIL; the login
used is recorded (X-Receiver-Auth). Stops when stdin closes.
"""
import asyncio
import itertools
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, out):
        self.out = out
        self.seen = set()
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("temp-once"):
            if address.lower() not in self.seen:
                self.seen.add(address.lower())
                return "451 4.7.1 try again later"
        elif local.startswith("temp"):
            return "451 4.7.1 try again later"
        elif local.startswith("reject"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(r.lower().startswith("slow") for r in envelope.rcpt_tos):
            await asyncio.sleep(6)
        n = next(self.counter)
        tls = "yes" if session.ssl else "no"
        path = os.path.join(self.out, f"{n}.eml")
        with open(path + ".tmp", "wb") as f:
            f.write(f"X-Envelope-From: <{envelope.mail_from}>\r\n".encode())
            f.write(f"X-Envelope-To: {','.join(envelope.rcpt_tos)}\r\n".encode())
            f.write(f"X-Receiver-Tls: {tls}\r\n".encode())
            f.write(f"X-Receiver-Session: {id(session)}\r\n".encode())
            f.write(f"X-Receiver-Peer: {session.peer[0]}\r\n".encode())
            if getattr(session, "receiver_login", None):
                f.write(f"X-Receiver-Auth: {session.receiver_login}\r\n".encode())
            data = envelope.original_content or envelope.content
            f.write(data if isinstance(data, bytes) else data.encode())
        os.rename(path + ".tmp", path)
        return "250 2.0.0 queued as r%d" % n


def main():
    out = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    cert = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    key = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
    host = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else "127.0.0.1"
    login = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] else None
    context = None
    if cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)

    handler = Handler(out)

    def authenticator(server, session, envelope, mechanism, auth_data):
        user, _, password = login.partition(":")
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
        if ok:
            session.receiver_login = user
        return AuthResult(success=ok, handled=False)

    class Factory(Controller):
        def factory(self):
            extra = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": True} if login else {}
            return SMTP(self.handler, tls_context=context, require_starttls=False, decode_data=False,
                        enable_SMTPUTF8=True, hostname="receiver.test", **extra)

    import socket
    if port == 0:
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        s.bind((host, 0))
        port = s.getsockname()[1]
        s.close()
    controller = Factory(handler, hostname=host, port=port)
    controller.start()
    print(f"port {port}", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
