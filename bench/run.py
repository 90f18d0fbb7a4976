"""Roster's HTTP benchmark: one command, end to end (see `bench/run --help`).

Builds the release binaries, starts Roster on a fresh database and the bare-HTTP baseline
beside it, imports N synthetic users through POST /v1/users/import, then drives each
scenario with wrk from this machine, sampling the server's RSS as it goes. Prints one
table and writes it, with the machine and the commands, into bench/RESULTS.md.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROSTER = os.path.join(ROOT, "target", "release", "roster")
BENCH = os.path.join(ROOT, "target", "release", "roster-bench")
RESULTS = os.path.join(ROOT, "bench", "RESULTS.md")
BEGIN, END = "<!-- bench/run: begin -->", "<!-- bench/run: end -->"
SECRET = "sk_live_" + "benchbenchbenchbenchbenchbenchbenchbenchbench"
SERVER, BASELINE = "127.0.0.1:18080", "127.0.0.1:18090"


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run(command, **kwargs):
    return subprocess.run(command, check=True, **kwargs)


def ensure_tools():
    missing = [tool for tool in ("wrk", "curl") if not shutil.which(tool)]
    if not missing:
        return
    log(f"installing {' '.join(missing)} (apt-get)")
    apt = ["apt-get", "install", "-y", "-q"] + missing
    if os.geteuid() != 0:
        apt = ["sudo"] + apt
    if subprocess.run(apt, stdout=subprocess.DEVNULL).returncode != 0:
        run((["sudo"] if os.geteuid() != 0 else []) + ["apt-get", "update", "-q"],
            stdout=subprocess.DEVNULL)
        run(apt, stdout=subprocess.DEVNULL)


def start_roster(url):
    """`roster serve` on SERVER over database `url`, with the bench key and its rate limit
    raised out of the way; its environment (for the CLI) and the process. Exits if the
    server stops at once (the port taken by another)."""
    env = dict(os.environ, ROSTER_DATABASE_URL=url, ROSTER_BOOTSTRAP_SECRET_KEY=SECRET,
               RUST_LOG="warn")
    server = subprocess.Popen([ROSTER, "serve", "--listen", SERVER,
                               "--rate-limit-per-minute", "100000000"],
                              env=env, stdout=subprocess.DEVNULL)
    wait_healthy(SERVER)
    time.sleep(0.5)
    if server.poll() is not None:
        raise SystemExit(f"Roster exited at start ({server.returncode}): is {SERVER} taken?")
    return env, server


def seeded_roster(work, users, children):
    """Roster on a fresh SQLite file in `work` and the bare baseline beside it (both added
    to `children`), with `users` synthetic users generated and imported; the database URL,
    the server process and the users file."""
    url = f"sqlite://{work}/roster.db"
    _, server = start_roster(url)
    children.append(server)
    children.append(subprocess.Popen([BENCH, "baseline", "--listen", BASELINE],
                                     stdout=subprocess.DEVNULL))
    users_file = os.path.join(work, "users.ndjson")
    log(f"generating {users:,} users")
    run([BENCH, "users", "--count", str(users), "--output", users_file])
    log("importing them into Roster")
    subprocess.run(["curl", "-sS", "--fail-with-body", "-X", "POST", "-T", users_file,
                    "-H", f"Authorization: Bearer {SECRET}",
                    "-H", "Content-Type: application/x-ndjson",
                    f"http://{SERVER}/v1/users/import"],
                   check=True, capture_output=True, text=True)
    return url, server, users_file


def stop(children):
    """SIGTERM each process, then wait for it (killing one that takes over 30 s)."""
    for child in children:
        child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


def write_section(begin, end, section):
    """Put `section` (from marker `begin` to marker `end`) into bench/RESULTS.md in place of
    the text between the same markers, or at its end the first time."""
    text = open(RESULTS).read() if os.path.exists(RESULTS) else "# Benchmark results\n"
    start, stop = text.find(begin), text.find(end)
    if start >= 0 and stop > start:
        text = text[:start] + section + text[stop + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(RESULTS, "w") as out:
        out.write(text)
    log(f"wrote {RESULTS}")


def wait_healthy(address, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://{address}/healthz", timeout=1):
                return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on {address}")


class RssSampler:
    """Samples a process's resident set size every 100 ms; `peak()` since the last reset."""

    def __init__(self, pid):
        self.pid, self.max_kb, self.stop = pid, 0, False
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while not self.stop:
            try:
                with open(f"/proc/{self.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmRSS:"):
                            self.max_kb = max(self.max_kb, int(line.split()[1]))
            except OSError:
                return
            time.sleep(0.1)

    def reset(self):
        self.max_kb = 0

    def peak_mb(self):
        return self.max_kb / 1024


def cpu_seconds(pid):
    """CPU time `pid` has used (user and system), in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pids, quiet_for=12, limit=600):
    """Wait until every process in `pids` is idle (each under 5% of a core) for `quiet_for`
    seconds running; the seconds waited. After an import the server finishes the search
    index's upkeep (it starts at the second look in a row, 2 s apart, that sees no new user,
    so within about 4 s; the default leaves three times that) and empties its log; a server
    that fell behind in a slow scenario goes on answering what wrk left queued. Neither
    should share the machine with the next measurement."""
    quiet, waited = 0, 0
    last = [cpu_seconds(pid) for pid in pids]
    while quiet < quiet_for and waited < limit:
        time.sleep(1)
        waited += 1
        now = [cpu_seconds(pid) for pid in pids]
        quiet = quiet + 1 if all(b - a < 0.05 for a, b in zip(last, now)) else 0
        last = now
    log(f"idle after {waited} s")
    return waited


def planner_statistics(url):
    """A sentence on what PostgreSQL's planner knew of the users table when the measurements
    began: with autovacuum off (as on this project's CI machine) the imported table is never
    analyzed and every plan is made without statistics, unlike a deployment's."""
    autovacuum, estimate = subprocess.run(
        ["psql", url, "-Atc", "SELECT current_setting('autovacuum'), "
         "(SELECT reltuples::bigint FROM pg_class WHERE relname = 'users')"],
        check=True, capture_output=True, text=True).stdout.strip().split("|")
    if int(estimate) < 0:
        known = ("had never been analyzed: every plan was made without statistics (a "
                 "deployment with autovacuum on gets them within a minute of a bulk import)")
    else:
        known = f"was last analyzed at {int(estimate):,} rows"
    return f" PostgreSQL ran with autovacuum {autovacuum}; the users table {known}."


def http(method, path, body=None, key=SECRET, content_type="application/json"):
    request = urllib.request.Request(f"http://{SERVER}{path}", data=body, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=3600) as response:
        return json.loads(response.read())


def lua_list(name, values):
    return f"{name} = {{" + ",".join(json.dumps(v) for v in values) + "}\n"


def wrk_script(directory, name, key, body):
    path = os.path.join(directory, f"{name}.lua")
    with open(path, "w") as script:
        script.write(f'wrk.headers["Authorization"] = "Bearer {key}"\n')
        script.write(body)
    return path


UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output):
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {}
    for percent, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M):
        latency[percent] = float(value) * UNIT[unit]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    total = re.search(r"(\d+) requests in", output)
    return {
        "rate": rate,
        "p50": latency.get("50"),
        "p99": latency.get("99"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "requests": int(total.group(1)) if total else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


def wrk(address, path, script, args, sampler):
    sampler.reset()
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
               "--latency", "-s", script, f"http://{address}{path}"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = parse_wrk(output)
    result["rss"] = sampler.peak_mb()
    return result


def search_scenarios(probe, script):
    """Every class of search a person types, alone and with a role and a status filter."""
    local, _ = probe["email"].split("@", 1)
    letters, number = local.rsplit(".", 1)
    q = urllib.request.quote
    classes = [
        (f"{probe['search']} (rare trigrams)", probe["search"], None),
        ("a whole email address (rare, common trigrams)", probe["email"], None),
        (f"{letters[-5:]}.{number[:5]} (a name and a number)", f"{letters[-5:]}.{number[:5]}", None),
        (f"{probe['nobody']} (nobody, common trigrams)", probe["nobody"], None),
        (f"{probe['everyone']} (nearly everyone), first page", probe["everyone"], None),
        (f"{probe['everyone']} (nearly everyone), middle page", probe["everyone"], "everyone"),
    ]
    out = []
    for filtered in (False, True):
        for label, needle, deep in classes:
            path = f"/v1/users?limit=20&search={q(needle)}"
            if filtered:
                path += "&role=editor&status=inactive"
                label += ", role+status"
            if deep:
                cursor = probe[f"{deep}_filtered_deep_cursor" if filtered else f"{deep}_deep_cursor"]
                if not cursor:
                    continue
                path += f"&cursor={cursor}"
            out.append((f"search {label}", SERVER, path, script))
    return out


def main():
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000, help="users to import (default 1,000,000)")
    parser.add_argument("--postgres", metavar="URL", nargs="?", const="postgres://postgres@127.0.0.1:5432",
                        help="run on PostgreSQL (a fresh database on this server) instead of SQLite")
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    args = parser.parse_args()

    ensure_tools()
    log("building release binaries")
    run(["cargo", "build", "--release", "--quiet", "-p", "roster", "-p", "roster-bench"], cwd=ROOT)

    work = tempfile.mkdtemp(prefix="roster-bench-")
    children = []
    pg_database = None
    try:
        if args.postgres:
            pg_database = f"roster_bench_{os.getpid()}"
            run(["psql", args.postgres + "/postgres", "-qc", f"CREATE DATABASE {pg_database}"])
            url = f"{args.postgres}/{pg_database}"
        else:
            url = f"sqlite://{work}/roster.db"
        env, server = start_roster(url)
        children.append(server)
        baseline = subprocess.Popen([BENCH, "baseline", "--listen", BASELINE],
                                    stdout=subprocess.DEVNULL)
        children.append(baseline)
        sampler = RssSampler(server.pid)

        users_file = os.path.join(work, "users.ndjson")
        log(f"generating {args.users:,} users")
        run([BENCH, "users", "--count", str(args.users), "--output", users_file])
        log("importing them through POST /v1/users/import")
        sampler.reset()
        started = time.time()
        # curl streams the file as fast as the server reads it (urllib sends 8 KiB at a time).
        posted = subprocess.run(
            ["curl", "-sS", "--fail-with-body", "-X", "POST", "-T", users_file,
             "-H", f"Authorization: Bearer {SECRET}", "-H", "Content-Type: application/x-ndjson",
             f"http://{SERVER}/v1/users/import"],
            check=True, capture_output=True, text=True)
        report = json.loads(posted.stdout)["data"]
        import_seconds = time.time() - started
        import_rss = sampler.peak_mb()
        if report["created"] != args.users:
            raise SystemExit(f"import created {report['created']} of {args.users}: {report}")
        log(f"imported in {import_seconds:.1f} s")

        log("waiting for the server to finish the import's upkeep")
        settled = settle([server.pid])
        planner = planner_statistics(url) if args.postgres else ""
        log("probing the loaded database for ids, a deep cursor and an email")
        probe = json.loads(subprocess.run([BENCH, "probe", "--database-url", url],
                                          check=True, capture_output=True, text=True).stdout)
        # A key limited to 600 requests a minute, to show what refusing costs.
        limited = subprocess.run([ROSTER, "keys", "create", "--name", "limited", "--rate-limit", "600",
                                  "--json"], env=env, check=True, capture_output=True,
                                 text=True)
        limited_key = json.loads(limited.stdout)["secret"]

        ids = wrk_script(work, "ids", SECRET, lua_list("ids", probe["ids"]) +
                         'request = function()\n'
                         '  return wrk.format("GET", "/v1/users/" .. ids[math.random(#ids)])\n'
                         'end\n')
        plain = wrk_script(work, "plain", SECRET, "")
        # Seed 004 (Publica.la) authenticates with X-User-Token.
        publica = wrk_script(work, "publica", SECRET, f'wrk.headers["X-User-Token"] = "{SECRET}"\n')
        limited_script = wrk_script(work, "limited", limited_key, lua_list("ids", probe["ids"]) +
                                    'request = function()\n'
                                    '  return wrk.format("GET", "/v1/users/" .. ids[math.random(#ids)])\n'
                                    'end\n')
        create = wrk_script(work, "create", SECRET,
                            'wrk.method = "POST"\n'
                            'wrk.headers["Content-Type"] = "application/json"\n'
                            'local counter = 0\n'
                            'local threads = 0\n'
                            'setup = function(thread)\n'
                            '  threads = threads + 1\n'
                            '  thread:set("prefix", string.format("%d.%d", os.time(), threads))\n'
                            'end\n'
                            'request = function()\n'
                            '  counter = counter + 1\n'
                            '  local body = string.format(\'{"name":"Load %s %d","email":"load.%s.%d@bench.example","role":"viewer","send_invitation":false}\', prefix, counter, prefix, counter)\n'
                            '  return wrk.format(nil, nil, nil, body)\n'
                            'end\n')
        deep = probe["deep_cursor"]
        email = urllib.request.quote(probe["email"])
        scenarios = [
            ("baseline: fixed JSON user (bare axum)", BASELINE, "/v1/users/usr_fixed", plain),
            ("GET /v1/users/{id} (random ids)", SERVER, "/", ids),
            ("GET /v1/users?limit=20 (first page)", SERVER, "/v1/users?limit=20", plain),
            ("GET /v1/users?limit=20&cursor=… (page in the middle)", SERVER,
             f"/v1/users?limit=20&cursor={deep}", plain),
            ("GET /v1/users?role=editor&status=inactive", SERVER,
             "/v1/users?limit=20&role=editor&status=inactive", plain),
        ] + search_scenarios(probe, plain) + [
            ("GET /v1/users?email=… (exact lookup)", SERVER, f"/v1/users?email={email}", plain),
            ("seed 004 list, page=1 (15 a page)", SERVER,
             "/integration-api/v1/dashboard/users?page=1", publica),
            ("seed 004 list, page=10000 (15 a page)", SERVER,
             "/integration-api/v1/dashboard/users?page=10000", publica),
            ("POST /v1/users (no password, audited)", SERVER, "/v1/users", create),
            ("GET /v1/users/{id} over its rate limit (429s)", SERVER, "/", limited_script),
        ]
        results = []
        for name, address, path, script in scenarios:
            log(f"{name}: {args.duration} s at {args.connections} connections")
            results.append((name, wrk(address, path, script, args, sampler)))
        baseline_rate = results[0][1]["rate"]
    finally:
        stop(children)
        if pg_database:
            subprocess.run(["psql", args.postgres + "/postgres", "-qc",
                            f"DROP DATABASE IF EXISTS {pg_database}"])
        shutil.rmtree(work, ignore_errors=True)

    store = "PostgreSQL" if args.postgres else "SQLite"
    lines = [
        f"| scenario | req/s | p50 | p99 | vs baseline | non-2xx | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results:
        ratio = r["rate"] / baseline_rate
        lines.append(f"| {name} | {r['rate']:,.0f} | {r['p50']:.2f} ms | {r['p99']:.2f} ms | "
                     f"{ratio:.0%} | {r['non2xx']:,} | {r['rss']:.0f} MB |")
    lines.append(f"| import of {args.users:,} users (POST /v1/users/import, NDJSON) | "
                 f"{args.users / import_seconds:,.0f} rows/s | {import_seconds:.1f} s total | | | "
                 f"{report['rejected']} rejected | {import_rss:.0f} MB |")
    table = "\n".join(lines)
    print(table)

    if args.no_write:
        return
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(l.split(":", 1)[1].strip() for l in info if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    command = "bench/run" + (" --postgres" if args.postgres else "") + (
        f" --users {args.users}" if args.users != 1_000_000 else "")
    section = "\n".join([
        BEGIN,
        f"## HTTP load, {store}, {args.users:,} users",
        "",
        f"`{command}` on {time.strftime('%Y-%m-%d')}: {os.cpu_count()} cores ({cpu}), "
        f"{platform.system()} {platform.release()}; wrk with {args.threads} threads and "
        f"{args.connections} connections for {args.duration} s per scenario, on the same machine "
        "as the server. Latencies are wrk's; peak RSS is the server's, sampled every 100 ms. "
        f"After the import the server went idle (its search index's upkeep done) {settled} s "
        "later, and the measurements began then. The load's key has its rate limit raised (100,000,000 a minute) so the figures measure "
        "the server; the last scenario uses a key limited to 600 a minute, so nearly every "
        "request is refused with 429: what the limiter's refusal costs." + planner,
        "",
        table,
        END,
    ])
    marker_begin, marker_end = BEGIN.replace("begin", f"begin {store}"), END.replace("end", f"end {store}")
    section = section.replace(BEGIN, marker_begin).replace(END, marker_end)
    write_section(marker_begin, marker_end, section)


if __name__ == "__main__":
    main()
