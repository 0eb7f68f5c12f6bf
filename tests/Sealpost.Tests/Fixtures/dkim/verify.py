"""Verifies a message's DKIM signature with python3-dkim (Debian), an implementation independent of ours.

Usage: verify.py MESSAGE_FILE "NAME=TXT-VALUE" ...; prints "pass" or "fail" and exits 0 or 1.
The TXT records are given instead of looked up, so no DNS is needed.
"""
import sys

import dkim

records = {}
for arg in sys.argv[2:]:
    name, value = arg.split("=", 1)
    records[name.rstrip(".") + "."] = value.encode()


def dnsfunc(name, timeout=5):
    key = name.decode() if isinstance(name, bytes) else name
    return records.get(key.rstrip(".") + ".")


with open(sys.argv[1], "rb") as f:
    data = f.read()
ok = dkim.verify(data, dnsfunc=dnsfunc)
print("pass" if ok else "fail")
sys.exit(0 if ok else 1)
