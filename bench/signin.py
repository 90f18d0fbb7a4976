"""Sign-in cost: how many sign-ins per second this machine does (each one argon2id
verification: m=19456 KiB, t=2, p=1, plus a session row and an audit event), and what a
burst of them does to the latency of other requests.

Starts Roster on a fresh SQLite file and the bare-HTTP baseline beside it, creates a few
users with passwords, then runs with wrk (each scenario `--duration` seconds):
  1. the baseline (bare axum, fixed JSON user),
  2. GET /v1/users/{id} alone,
  3. POST /v1/sessions alone (correct passwords, rotating over the users),
  4. GET /v1/users/{id} while POST /v1/sessions runs at the same time,
then, one request at a time, the median time of a failed sign-in with a wrong password and
with an unknown email (both must cost one argon2 verification, so time tells them not apart;
the tests check the count of verifications, this checks the clock).
Prints a table and writes it into its section of bench/RESULTS.md.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import statistics
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (bench/run.py: the shared helpers)

BEGIN, END = "<!-- bench/signin: begin -->", "<!-- bench/signin: end -->"
PASSWORD = "correct horse battery staple"


def wrk(address, path, script, duration, connections, sampler=None):
    if sampler:
        sampler.reset()
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script,
               f"http://{address}{path}"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = bench.parse_wrk(output)
    result["rss"] = sampler.peak_mb() if sampler else None
    return result


def failed_sign_in_ms(email, n):
    """One failed sign-in's wall time in ms. Each comes from its own address, so the
    per-address backoff never answers early."""
    body = json.dumps({"email": email, "password": "not the password",
                       "ip": f"198.18.{n // 250}.{n % 250}"}).encode()
    request = urllib.request.Request(f"http://{bench.SERVER}/v1/sessions", data=body, method="POST")
    request.add_header("Authorization", f"Bearer {bench.SECRET}")
    request.add_header("Content-Type", "application/json")
    started = time.perf_counter()
    try:
        urllib.request.urlopen(request, timeout=60).read()
    except urllib.error.HTTPError as refused:
        if refused.code != 401:
            raise
    return (time.perf_counter() - started) * 1000


def failure_medians(emails, tries):
    """Median ms of failed sign-ins: wrong passwords (over the users, at most 4 per name, under
    the per-name backoff) and unknown emails (a new one each time)."""
    wrong = [failed_sign_in_ms(emails[n % len(emails)], n) for n in range(tries)]
    unknown = [failed_sign_in_ms(f"nobody{n}@example.com", 10_000 + n) for n in range(tries)]
    return statistics.median(wrong), statistics.median(unknown)


def main():
    parser = argparse.ArgumentParser(prog="bench/signin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario (default 10)")
    parser.add_argument("--users", type=int, default=20, help="users signing in (default 20)")
    parser.add_argument("--signin-connections", type=int, default=16,
                        help="wrk connections of the sign-in burst (default 16)")
    parser.add_argument("--read-connections", type=int, default=8,
                        help="wrk connections of the reads (default 8)")
    parser.add_argument("--password-concurrency", type=int, default=0,
                        help="roster serve --password-concurrency (default 0: one per core)")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    args = parser.parse_args()

    bench.ensure_tools()
    bench.log("building release binaries")
    bench.run(["cargo", "build", "--release", "--quiet", "-p", "roster", "-p", "roster-bench"],
              cwd=bench.ROOT)
    work = tempfile.mkdtemp(prefix="roster-signin-")
    env = dict(os.environ, ROSTER_DATABASE_URL=f"sqlite://{work}/roster.db",
               ROSTER_BOOTSTRAP_SECRET_KEY=bench.SECRET, RUST_LOG="warn")
    children = []
    try:
        server = subprocess.Popen([bench.ROSTER, "serve", "--listen", bench.SERVER,
                                   "--rate-limit-per-minute", "100000000",
                                   "--password-concurrency", str(args.password_concurrency)],
                                  env=env, stdout=subprocess.DEVNULL)
        children.append(server)
        children.append(subprocess.Popen([bench.BENCH, "baseline", "--listen", bench.BASELINE],
                                         stdout=subprocess.DEVNULL))
        bench.wait_healthy(bench.SERVER)
        sampler = bench.RssSampler(server.pid)
        emails = [f"signin{n}@example.com" for n in range(args.users)]
        ids = []
        for email in emails:
            body = json.dumps({"name": "Sign In", "email": email, "role": "viewer",
                               "send_invitation": False, "password": PASSWORD}).encode()
            ids.append(bench.http("POST", "/v1/users", body)["id"])

        scripts = tempfile.mkdtemp(prefix="roster-signin-lua-")
        plain = bench.wrk_script(scripts, "plain", bench.SECRET, "")
        read = bench.wrk_script(scripts, "read", bench.SECRET,
                                bench.lua_list("ids", ids) +
                                'local n = 0\nrequest = function()\n  n = n + 1\n'
                                '  return wrk.format("GET", "/v1/users/" .. ids[(n % #ids) + 1])\nend\n')
        bodies = [json.dumps({"email": e, "password": PASSWORD}) for e in emails]
        signin = bench.wrk_script(scripts, "signin", bench.SECRET,
                                  bench.lua_list("bodies", bodies) +
                                  'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                                  'local n = 0\nrequest = function()\n  n = n + 1\n'
                                  '  return wrk.format("POST", "/v1/sessions", nil, bodies[(n % #bodies) + 1])\nend\n')

        results = []
        bench.log("baseline")
        results.append(("baseline: bare axum GET", wrk(bench.BASELINE, "/v1/users/usr_fixed", plain,
                                                      args.duration, args.read_connections)))
        bench.log("reads alone")
        results.append(("GET /v1/users/{id} alone", wrk(bench.SERVER, "/", read, args.duration,
                                                         args.read_connections, sampler)))
        bench.log("sign-ins alone")
        results.append(("POST /v1/sessions alone", wrk(bench.SERVER, "/", signin, args.duration,
                                                       args.signin_connections, sampler)))
        bench.log("reads during a sign-in burst")
        burst = {}
        thread = threading.Thread(target=lambda: burst.update(
            wrk(bench.SERVER, "/", signin, args.duration, args.signin_connections)))
        thread.start()
        during = wrk(bench.SERVER, "/", read, args.duration, args.read_connections, sampler)
        thread.join()
        results.append(("GET /v1/users/{id} during the burst", during))
        results.append(("POST /v1/sessions (the burst)", burst))
        bench.log("failed sign-ins, one at a time")
        wrong_ms, unknown_ms = failure_medians(emails, min(60, 4 * len(emails)))
    finally:
        for child in children:
            child.terminate()
            child.wait()

    cores = os.cpu_count()
    lines = [
        f"| scenario | req/s | p50 | p99 | non-2xx |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results:
        lines.append(f"| {name} | {r['rate']:,.0f} | {r['p50']:.2f} ms | {r['p99']:.2f} ms | {r['non2xx']} |")
    lines.append("")
    lines.append(f"Failed sign-ins, one at a time (median): wrong password {wrong_ms:.1f} ms, unknown "
                 f"email {unknown_ms:.1f} ms (ratio {wrong_ms / unknown_ms:.2f}; 1.00 means time "
                 "tells them not apart).")
    table = "\n".join(lines)
    print(table)
    if args.no_write:
        return
    section = "\n".join([
        BEGIN,
        "## Sign-in (`bench/signin`)",
        "",
        f"Machine: {platform.platform()}, {cores} cores. Roster on SQLite, release build; wrk on the "
        f"same machine (2 threads; {args.signin_connections} connections signing in, "
        f"{args.read_connections} reading), {args.duration} s per scenario, {args.users} users. "
        "Passwords: argon2id m=19456 KiB, t=2, p=1 (OWASP), verified on the blocking pool, "
        f"at most {args.password_concurrency or cores} at once (`--password-concurrency`).",
        "",
        "Command: `bench/signin`",
        "",
        table,
        END,
    ])
    bench.write_section(BEGIN, END, section)


if __name__ == "__main__":
    main()
