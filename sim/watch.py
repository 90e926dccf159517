#!/usr/bin/env python3
"""watch.py: the terminal view of live generations (Python standard library only).

Polls generation.getStatus through nginx for each course every 2 seconds, exactly as the
contract's useGenerationStatus hook does (one httpBatchLink-style GET per course, bearer
token), and draws one line per course: progress bar, percent, status and phase, message,
ETA. A course stops being polled at completed, failed or cancelled; the view exits when
all have stopped (--follow: look again every 10 s, to pick up a new round of ./run's
simulator).

    python3 sim/watch.py --live .state/live.json          # what ./run prints
    python3 sim/watch.py --url http://127.0.0.1:8080 --token JWT COURSE-UUID...
"""

import argparse
import http.client
import json
import os
import shutil
import sys
import time
import urllib.parse

POLL_S = 2.0
TERMINAL = ("completed", "failed", "cancelled")


def get_status(url, base, token, course, timeout=10):
    """One tRPC call as httpBatchLink sends it; returns (data, None) or (None, error)."""
    u = urllib.parse.urlsplit(url)
    inp = json.dumps({"0": {"courseId": course}}, separators=(",", ":"))
    path = "%s/generation.getStatus?batch=1&input=%s" % (base.rstrip("/"),
                                                         urllib.parse.quote(inp, safe=""))
    try:
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
    except OSError as e:
        return None, "network error: %s" % e
    try:
        doc = json.loads(body)
    except ValueError:
        return None, "HTTP %d, not JSON" % resp.status
    item = doc[0] if isinstance(doc, list) else doc
    if isinstance(item, dict) and "result" in item:
        return item["result"]["data"], None
    err = (item or {}).get("error", {})
    data = err.get("data", {})
    return None, "%s %s: %s" % (data.get("httpStatus", resp.status), data.get("code", "?"),
                                err.get("message", ""))


def bar(progress, width):
    full = int(round(width * max(0, min(100, progress)) / 100.0))
    return "█" * full + "░" * (width - full)


def line(course, st, cols):
    data, err, stopped = st.get("data"), st.get("error"), st.get("stopped")
    short = course[:8] + "…" + course[-4:]
    if err:
        return ("%s  %s" % (short, err))[:cols]
    if data is None:
        return "%s  Загрузка..." % short
    eta = data["estimatedRemainingSeconds"]
    eta_s = ("~%d:%02d" % divmod(eta, 60)) if eta is not None else "  -  "
    state = data["status"] + ("/" + data["phase"] if data["phase"] else "")
    extra = ""
    md = data.get("metadata") or {}
    if md.get("qualityScore") is not None:
        extra = " Качество: %d%%" % round(md["qualityScore"] * 100)
    if md.get("error"):
        extra = " " + md["error"]
    bw = max(10, min(30, cols - 90))
    text = "%s %s %3d%% %-21s %-6s %s%s%s" % (short, bar(data["progress"], bw),
                                             data["progress"], state, eta_s,
                                             data["message"], extra,
                                             "  (stopped)" if stopped else "")
    return text[:cols + 40]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--live", help="live.json written by ./run (url, token, courses)")
    p.add_argument("--url", help="nginx base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--base", default="/trpc")
    p.add_argument("--token")
    p.add_argument("--follow", action="store_true",
                   help="keep watching: re-poll stopped courses every 10 s")
    p.add_argument("--once", action="store_true", help="poll once, print, exit")
    p.add_argument("courses", nargs="*")
    a = p.parse_args(argv)
    if a.live:
        with open(a.live) as f:
            live = json.load(f)
        a.url = a.url or live["url"]
        a.base = live.get("base", a.base)
        a.token = a.token or live["token"]
        a.courses = a.courses or live["courses"]
    if not (a.url and a.token and a.courses):
        p.error("give --live FILE, or --url, --token and course UUIDs")
    state = {c: {"next": 0.0} for c in a.courses}
    tty = sys.stdout.isatty() and not a.once
    try:
        while True:
            now = time.monotonic()
            polled = False
            for c, st in state.items():
                if now >= st["next"]:
                    polled = True
                    data, err = get_status(a.url, a.base, a.token, c)
                    st["data"], st["error"] = (data, None) if data else (st.get("data"), err)
                    terminal = (data and data["status"] in TERMINAL) or \
                        (err and err[:1] == "4")
                    st["stopped"] = bool(terminal)
                    st["next"] = now + (10.0 if terminal and a.follow else
                                        float("inf") if terminal else POLL_S)
            cols = shutil.get_terminal_size((120, 24)).columns
            out = ["coursegen-status live view  %s  (every %ds, %s)" % (
                time.strftime("%H:%M:%S"), POLL_S, a.url)]
            out += [line(c, state[c], cols) for c in a.courses]
            if tty:
                sys.stdout.write("\x1b[H\x1b[2J" + "\n".join(out) + "\n")
            elif polled:
                sys.stdout.write("\n".join(out) + "\n")
            sys.stdout.flush()
            if a.once or all(st["stopped"] for st in state.values()) and not a.follow:
                return 0
            time.sleep(min(0.5, max(0.05, min(st["next"] for st in state.values())
                                    - time.monotonic())))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
