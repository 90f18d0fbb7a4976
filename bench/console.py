"""The console at a million users (see `bench/console --help`).

Builds the release binaries, starts Roster on a fresh SQLite database and the bare-HTTP
baseline beside it, imports N synthetic users (bench/run's generator), makes a console admin
and signs it in through the sign-in form, then drives each scenario with wrk as a signed-in
browser would send it (the session cookie; htmx's headers for the in-place updates):

- the users page, whole (what a first visit or a reload renders);
- a search keystroke: the results fragment for what people type, drawn at random per request
  from whole emails, a name, the start of a local part, a shared domain, a 3-letter fragment
  and a word that matches nobody;
- a filter change: the results fragment for role, status, and both, at random.

It reports p50 and p99 (wrk's, from this machine over loopback: server time plus a loopback
round trip) with a few connections sending without pause (far more than people typing),
against the bare baseline in the same run, once the import's background index upkeep has
ended; and what a first visit transfers on a cold cache (the page and every asset it
loads). Prints one table and writes it into bench/RESULTS.md.
"""

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (bench/run.py: the shared instruments)

BEGIN, END = "<!-- bench/console: begin -->", "<!-- bench/console: end -->"
ADMIN_EMAIL, ADMIN_PASSWORD = "console-admin@bench.example", "bench console password"
GOAL_MS = 50.0
WEIGHT_GOAL = 300 * 1024


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def console_session():
    """Make an admin through the API and sign it in through the console's form; its cookie."""
    body = json.dumps({"name": "Console Admin", "email": ADMIN_EMAIL, "role": "admin",
                       "send_invitation": False, "password": ADMIN_PASSWORD}).encode()
    bench.http("POST", "/v1/users", body)
    with urllib.request.urlopen(f"http://{bench.SERVER}/console/signin") as page:
        pre = re.search(r"roster_pre=([^;]+)", page.headers["Set-Cookie"]).group(1)
    form = urllib.parse.urlencode({"csrf": pre, "workspace": "default", "email": ADMIN_EMAIL,
                                   "password": ADMIN_PASSWORD}).encode()
    request = urllib.request.Request(f"http://{bench.SERVER}/console/signin", data=form,
                                     method="POST")
    request.add_header("Cookie", f"roster_pre={pre}")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(request)
    except urllib.error.HTTPError as answer:
        if answer.code != 303:
            raise SystemExit(f"console sign-in failed: {answer.code} {answer.read()[:300]}")
        for header in answer.headers.get_all("Set-Cookie"):
            if header.startswith("roster_console=ses_"):
                return header.split(";")[0]
    raise SystemExit("console sign-in set no session cookie")


def script(work, name, cookie, paths, fragment):
    """A wrk script sending the session cookie (and htmx's headers for a fragment) to a
    path drawn at random per request."""
    path = os.path.join(work, f"{name}.lua")
    with open(path, "w") as out:
        out.write(f'wrk.headers["Cookie"] = "{cookie}"\n')
        if fragment:
            out.write('wrk.headers["HX-Request"] = "true"\n')
            out.write('wrk.headers["HX-Target"] = "results"\n')
        out.write(bench.lua_list("paths", paths))
        out.write('request = function()\n'
                  '  return wrk.format("GET", paths[math.random(#paths)])\n'
                  'end\n')
    return path


def searches(users_file, count):
    """What people type into the search box, drawn from the users themselves."""
    rng = random.Random(11)
    with open(users_file) as lines:
        sample = [json.loads(line) for _, line in zip(range(200_000), lines)]
    picked = rng.sample(sample, min(len(sample), count))
    typed = []
    for user in picked:
        local, domain = user["email"].split("@")
        typed += [user["email"], user["name"].split()[0], local[:4], domain, local[1:4]]
    typed += ["zzqxv", "nobody-types-this"]
    return [f"/console/users?q={urllib.parse.quote(t)}" for t in typed]


def filters():
    paths = []
    for role in ["", "admin", "editor", "viewer"]:
        for status in ["", "invited", "active", "inactive"]:
            if role or status:
                paths.append(f"/console/users?role={role}&status={status}")
    return paths


def first_visit_weight(cookie):
    """Bytes a first visit to the users page transfers on a cold cache: the page and every
    script and style sheet it names (the server sends them uncompressed)."""
    request = urllib.request.Request(f"http://{bench.SERVER}/console/users")
    request.add_header("Cookie", cookie)
    page = urllib.request.urlopen(request).read()
    total = len(page)
    for asset in re.findall(rb'(?:src|href)="(/console/assets/[^"]+)"', page):
        total += len(urllib.request.urlopen(f"http://{bench.SERVER}{asset.decode()}").read())
    return len(page), total


def main():
    parser = argparse.ArgumentParser(prog="bench/console", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000, help="users (default 1,000,000)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per scenario (default 15)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    args = parser.parse_args()

    bench.ensure_tools()
    bench.log("building release binaries")
    bench.run(["cargo", "build", "--release", "--quiet", "-p", "roster", "-p", "roster-bench"],
              cwd=bench.ROOT)
    work = tempfile.mkdtemp(prefix="roster-bench-console-")
    children = []
    try:
        _, server, users_file = bench.seeded_roster(work, args.users, children)
        sampler = bench.RssSampler(server.pid)
        bench.settle([server.pid])
        cookie = console_session()
        page_bytes, weight = first_visit_weight(cookie)

        scenarios = [
            ("bare HTTP baseline", bench.BASELINE, script(work, "baseline", cookie, ["/v1/users/usr_fixed"], False)),
            ("users page (whole page)", bench.SERVER,
             script(work, "page", cookie, ["/console/users"], False)),
            ("search keystroke (results fragment)", bench.SERVER,
             script(work, "search", cookie, searches(users_file, 40), True)),
            ("filter change (results fragment)", bench.SERVER,
             script(work, "filter", cookie, filters(), True)),
        ]
        rows = []
        for label, address, lua in scenarios:
            bench.log(f"{label}: {args.duration} s")
            result = bench.wrk(address, "/", lua, args, sampler)
            if result["non2xx"] or result["socket_errors"]:
                raise SystemExit(f"{label}: {result['non2xx']} non-2xx, {result['socket_errors']}")
            rows.append((label, result))
    finally:
        bench.stop(children)

    lines = [
        BEGIN,
        f"## bench/console: the console at {args.users:,} users (SQLite)",
        "",
        f"`bench/console --users {args.users}` (wrk, {args.threads} threads, {args.connections} "
        f"connections, {args.duration} s each; the session cookie, and htmx's headers for the "
        "fragments). Goal: p99 ≤ 50 ms for each.",
        "",
        "| scenario | req/s | p50 | p99 | goal met |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for label, r in rows:
        met = "" if "baseline" in label else ("yes" if r["p99"] <= GOAL_MS else "**no**")
        lines.append(f"| {label} | {r['rate']:,.0f} | {r['p50']:.2f} ms | {r['p99']:.2f} ms | {met} |")
    lines += [
        "",
        f"A first visit to the users page on a cold cache transfers {weight / 1024:.0f} KB (the "
        f"page {page_bytes / 1024:.0f} KB, the rest its style sheet, script and htmx); goal "
        f"< 300 KB: {'met' if weight < WEIGHT_GOAL else '**not met**'}.",
        "",
        END,
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        bench.write_section(BEGIN, END, section)


if __name__ == "__main__":
    main()
