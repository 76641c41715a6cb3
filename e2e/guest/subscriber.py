#!/usr/bin/python3
"""A stand-in for bustd-notify in the guest (which has no D-Bus or
notification server): it subscribes to the event socket as an ordinary user
and records every line it receives with the time it received it, i.e. what a
notifier would have shown and when.

Usage: subscriber.py SOCKET OUTFILE
Each output line: {"recv_ms": <epoch ms>, "recv_mono_ms": ..., "event": {...}}
"""
import json
import socket
import sys
import time

path, outfile = sys.argv[1], sys.argv[2]
out = open(outfile, "a", buffering=1)

# The daemon may still be starting; with earlyoom or no daemon there is no
# socket at all, and the subscriber just waits (it runs in every run, so
# that every run has the same processes in memory).
while True:
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        break
    except OSError:
        sock.close()
        time.sleep(0.5)

buffer = b""
while True:
    chunk = sock.recv(65536)
    if not chunk:
        out.write(json.dumps({"recv_ms": int(time.time() * 1000), "closed": True}) + "\n")
        break
    buffer += chunk
    while b"\n" in buffer:
        line, buffer = buffer.split(b"\n", 1)
        now, mono = int(time.time() * 1000), int(time.monotonic() * 1000)
        try:
            event = json.loads(line)
        except ValueError:
            event = {"unparsed": line.decode("utf-8", "replace")}
        out.write(json.dumps({"recv_ms": now, "recv_mono_ms": mono, "event": event}) + "\n")
