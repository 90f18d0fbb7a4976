"""Roster's SCIM 2.0 surface beside the Python reference server scim2-server (PyPI), in
one run (see `bench/scim --help`).

Builds the release binaries, starts Roster on a fresh SQLite database and the bare-HTTP
baseline beside it, imports N synthetic users (bench/run's generator) through
POST /v1/users/import, loads the same users into scim2-server (installed into a virtualenv
under target/), then drives each scenario with wrk against both: GET /Users/{id} at random
ids, filter=userName eq at random user names (and at one nobody has), and 100-user pages.
Prints one table and writes it into bench/RESULTS.md.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (bench/run.py: the shared instruments)

REFERENCE = "127.0.0.1:18100"
REFERENCE_TOKEN = "bench-reference-token"
SCIM2_SERVER_VERSION = "0.8.3"
VENV = os.path.join(bench.ROOT, "target", "bench-scim-venv")
BEGIN, END = "<!-- bench/scim: begin -->", "<!-- bench/scim: end -->"


def reference_python():
    python = os.path.join(VENV, "bin", "python")
    pip = os.path.join(VENV, "bin", "pip")
    installed = os.path.exists(pip) and f"Version: {SCIM2_SERVER_VERSION}" in subprocess.run(
        [pip, "show", "scim2-server"], capture_output=True, text=True).stdout
    if not installed:
        bench.log(f"installing scim2-server {SCIM2_SERVER_VERSION} into {VENV}")
        bench.run([sys.executable, "-m", "venv", VENV])
        bench.run([os.path.join(VENV, "bin", "pip"), "install", "--quiet",
                   f"scim2-server=={SCIM2_SERVER_VERSION}"])
    return python


def scripts(work, prefix, token, ids, names):
    """wrk scripts for one server (its SCIM base path `prefix`): by id, by user name, plain."""
    label = prefix.strip("/").replace("/", "-")
    by_id = bench.wrk_script(work, f"{label}-id", token, bench.lua_list("ids", ids) +
                             'request = function()\n'
                             f'  return wrk.format("GET", "{prefix}/Users/" .. ids[math.random(#ids)])\n'
                             'end\n')
    by_name = bench.wrk_script(work, f"{label}-name", token, bench.lua_list("names", names) +
                               'request = function()\n'
                               f'  return wrk.format("GET", "{prefix}/Users?filter=userName%20eq%20%22" .. '
                               'names[math.random(#names)] .. "%22")\n'
                               'end\n')
    plain = bench.wrk_script(work, f"{label}-plain", token, "")
    return by_id, by_name, plain


def main():
    parser = argparse.ArgumentParser(prog="bench/scim", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000, help="users in each server (default 100,000)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    args = parser.parse_args()

    bench.ensure_tools()
    python = reference_python()
    bench.log("building release binaries")
    bench.run(["cargo", "build", "--release", "--quiet", "-p", "roster", "-p", "roster-bench"],
              cwd=bench.ROOT)
    work = tempfile.mkdtemp(prefix="roster-bench-scim-")
    children = []
    try:
        url, server, users_file = bench.seeded_roster(work, args.users, children)
        sampler = bench.RssSampler(server.pid)
        bench.log("loading them into scim2-server (in-process, through its POST /v2/Users)")
        sample_file = os.path.join(work, "reference-ids.json")
        host, port = REFERENCE.split(":")
        reference = subprocess.Popen([python, os.path.join(bench.ROOT, "bench", "scim_reference.py"),
                                      users_file, port, REFERENCE_TOKEN, sample_file],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        children.append(reference)
        if reference.stdout.readline().strip() != "ready":
            raise SystemExit("scim2-server did not start")

        bench.log("waiting for both servers to finish loading")
        bench.settle([server.pid, reference.pid])
        probe = json.loads(subprocess.run([bench.BENCH, "probe", "--database-url", url],
                                          check=True, capture_output=True, text=True).stdout)
        with open(users_file) as lines:
            emails = [json.loads(line)["email"] for line in lines]
        names = random.Random(7).sample(emails, min(len(emails), 10_000))
        with open(sample_file) as sample:
            reference_ids = json.load(sample)["ids"]

        roster = scripts(work, "/scim/v2", bench.SECRET, probe["ids"], names)
        ref = scripts(work, "/v2", REFERENCE_TOKEN, reference_ids, names)
        nobody = "filter=userName%20eq%20%22nobody%40nowhere.example%22"
        middle = args.users // 2 + 1
        probe_user = json.loads(open(users_file).readline())
        prefix = urllib.parse.quote(probe_user["email"][:-6])
        fragment = urllib.parse.quote(probe_user["email"].split("@")[0][-6:] + "@")
        domain = urllib.parse.quote(probe_user["email"].split("@")[1])
        family = urllib.parse.quote(probe_user["family_name"])
        classes = [
            ("filter=userName sw (a prefix one user has)", f'userName%20sw%20%22{prefix}%22'),
            ("filter=emails co (a fragment one user has)", f'emails.value%20co%20%22{fragment}%22'),
            ("filter=emails co (the domain a quarter share)", f'emails%20co%20%22{domain}%22'),
            ("filter=externalId eq", 'externalId%20eq%20%22emp-0000001%22'),
            ("filter=meta.lastModified gt (a time after every change)",
             'meta.lastModified%20gt%20%222100-01-01T00%3A00%3A00Z%22'),
            ("filter=name.familyName eq (not indexed)", f'name.familyName%20eq%20%22{family}%22'),
        ]
        # The two that walk every match or every user go last.
        classes = classes[:2] + classes[3:5] + [classes[2], classes[5]]
        scenarios = [
            ("baseline: fixed JSON user (bare axum)", None, bench.BASELINE, "/v1/users/usr_fixed",
             bench.wrk_script(work, "plain", bench.SECRET, "")),
            ("GET /Users/{id} (random ids)", "roster", bench.SERVER, "/", roster[0]),
            ("GET /Users/{id} (random ids)", "reference", REFERENCE, "/", ref[0]),
            ("filter=userName eq (random user names)", "roster", bench.SERVER, "/", roster[1]),
            ("filter=userName eq (random user names)", "reference", REFERENCE, "/", ref[1]),
            ("filter=userName eq (a name nobody has)", "roster", bench.SERVER, f"/scim/v2/Users?{nobody}", roster[2]),
            ("filter=userName eq (a name nobody has)", "reference", REFERENCE, f"/v2/Users?{nobody}", ref[2]),
            ("100-user page (startIndex=1&count=100)", "roster", bench.SERVER,
             "/scim/v2/Users?startIndex=1&count=100", roster[2]),
            ("100-user page (startIndex=1&count=100)", "reference", REFERENCE,
             "/v2/Users?startIndex=1&count=100", ref[2]),
            (f"100-user page in the middle (startIndex={middle:,})", "roster", bench.SERVER,
             f"/scim/v2/Users?startIndex={middle}&count=100", roster[2]),
            (f"100-user page in the middle (startIndex={middle:,})", "reference", REFERENCE,
             f"/v2/Users?startIndex={middle}&count=100", ref[2]),
        ]
        # The filter classes run on Roster alone, last, with scim2-server stopped: it scans
        # its users in Python for them, and after a slow scenario it goes on working off
        # the requests wrk left queued (taking the CPU from whatever runs next). The scans
        # come last of all, for the same reason.
        for name, condition in classes:
            scenarios.append((name + ", 20 a page", "roster", bench.SERVER,
                              f"/scim/v2/Users?count=20&filter={condition}", roster[2]))
        results = []
        for name, who, address, path, script in scenarios:
            if address == bench.SERVER and who == "roster" and "20 a page" in name and reference.poll() is None:
                reference.send_signal(signal.SIGTERM)
                reference.wait(timeout=30)
            # Each server measured alone: the other may still be answering what wrk left
            # queued in its slow scenario (scim2-server takes seconds to drain).
            bench.settle([p.pid for p in (server, reference) if p.poll() is None], quiet_for=2)
            bench.log(f"{name} ({who or 'baseline'}): {args.duration} s at {args.connections} connections")
            results.append((name, who, bench.wrk(address, path, script, args, sampler)))
    finally:
        bench.stop(children)
        shutil.rmtree(work, ignore_errors=True)

    baseline_rate = results[0][2]["rate"]
    lines = ["| scenario | Roster req/s | p50 | p99 | non-2xx | scim2-server req/s | p50 | p99 | non-2xx | Roster ÷ scim2-server | Roster ÷ baseline |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    beside = {name: r for name, who, r in results if who == "reference"}
    for name, who, r in results:
        if who == "reference":
            continue
        row = f"| {name} | {r['rate']:,.0f} | {r['p50']:.2f} ms | {r['p99']:.2f} ms | {r['non2xx']:,} | "
        s = beside.get(name) if who else None
        if s and s["rate"] > 0:
            row += (f"{s['rate']:,.1f} | {s['p50']:.2f} ms | {s['p99']:.2f} ms | {s['non2xx']:,} | "
                    f"{r['rate'] / s['rate']:,.0f}× | ")
        elif s:
            row += "none in the run | | | | — | "
        else:
            row += "not run | | | | | "
        lines.append(row + f"{r['rate'] / baseline_rate:.0%} |")
    table = "\n".join(lines)
    print(table)
    if args.no_write:
        return
    command = "bench/scim" + (f" --users {args.users}" if args.users != 100_000 else "")
    section = "\n".join([
        BEGIN,
        f"## SCIM, SQLite, {args.users:,} users, beside scim2-server {SCIM2_SERVER_VERSION}",
        "",
        f"`{command}` on {time.strftime('%Y-%m-%d')}: {os.cpu_count()} cores; wrk with "
        f"{args.threads} threads and {args.connections} connections for {args.duration} s per "
        "scenario, on the same machine as both servers. Both hold the same users (bench/run's "
        "generator); scim2-server keeps them in memory (its InMemoryStorage, loaded through its "
        "own POST /v2/Users), Roster in SQLite.",
        "",
        table,
        END,
    ])
    bench.write_section(BEGIN, END, section)


if __name__ == "__main__":
    main()
