"""A real SMTP server for ledgerlink's tests, on aiosmtpd.

usage: python tools/smtp/mailbox.py DIR [--user NAME]
       (with --user, the password is read from LEDGERLINK_SMTP_PASSWORD and every client must
       log in with both; AUTH is offered without TLS, as on a relay on the same machine)

Listens on a free port of 127.0.0.1 and prints `listening on 127.0.0.1:<port>` once it
accepts connections. Writes each message it accepts to DIR/<nnnn>.eml, as received, headed by
its envelope (X-MailFrom, X-RcptTo) and the user that logged in (X-AuthUser). A file appears
whole (written aside, then renamed) before the client is told the message was accepted.
Exits when its standard input closes, so it never outlives the test that started it.
"""

import argparse
import asyncio
import os
import sys
import threading
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Mailbox:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        head = (
            f"X-MailFrom: {envelope.mail_from}\r\n"
            f"X-RcptTo: {', '.join(envelope.rcpt_tos)}\r\n"
            f"X-AuthUser: {session.auth_data or ''}\r\n"
        )
        path = os.path.join(self.directory, f"{self.count:04}.eml")
        with open(path + ".part", "wb") as mail:
            mail.write(head.encode() + envelope.original_content)
        os.replace(path + ".part", path)
        return "250 OK"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    return check


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--user")
    args = parser.parse_args()
    options = {}
    if args.user:
        # Plain AUTH is what this server is for; aiosmtpd warns about it on every start.
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
        options = dict(
            authenticator=authenticator(args.user, os.environ["LEDGERLINK_SMTP_PASSWORD"]),
            auth_required=True,
            auth_require_tls=False,
        )
    handler = Mailbox(args.directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, **options), "127.0.0.1", 0)
    print(f"listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    asyncio.run(main())
