"""Roster under a steady mix of reads and audited writes for minutes (see `bench/soak --help`).

Builds the release binaries, starts Roster on a fresh SQLite database (or PostgreSQL with
--postgres), imports N synthetic users (bench/run's generator), then runs `roster-bench load`:
an open-loop load at a fixed rate (request n is due at n / rate whatever the server did with
the ones before it; latency counts from when it was due): 40% GET /v1/users/{id}, 22% list
pages (first page, role+status filter), 8% searches, 15% POST /v1/users, 10% PATCH renames,
5% deactivations. The server's RSS is sampled every second. The first minute (or a tenth of
the run, if shorter) is the warm-up; the goal is no error at all and RSS growth after the
warm-up of at most 10%. Prints one table and writes it into bench/RESULTS.md.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (bench/run.py: the shared instruments)

BEGIN, END = "<!-- bench/soak: begin {store} -->", "<!-- bench/soak: end {store} -->"


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSeries:
    """The server's RSS once a second, with the time since the load began."""

    def __init__(self, pid):
        self.pid, self.samples, self.stop, self.started = pid, [], False, None
        threading.Thread(target=self.loop, daemon=True).start()

    def begin(self):
        self.samples, self.started = [], time.time()

    def loop(self):
        while not self.stop:
            try:
                kb = rss_kb(self.pid)
            except OSError:
                return
            if self.started is not None:
                self.samples.append((time.time() - self.started, kb))
            time.sleep(1)

    def at(self, seconds):
        """The sample nearest after `seconds` into the load."""
        later = [kb for t, kb in self.samples if t >= seconds]
        return later[0] if later else (self.samples[-1][1] if self.samples else 0)


def main():
    parser = argparse.ArgumentParser(prog="bench/soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10, help="length of the load (default 10)")
    parser.add_argument("--rate", type=int, default=1000, help="requests a second (default 1,000)")
    parser.add_argument("--users", type=int, default=1_000_000, help="users to import first (default 1,000,000)")
    parser.add_argument("--postgres", metavar="URL", nargs="?", const="postgres://postgres@127.0.0.1:5432",
                        help="run on PostgreSQL (a fresh database on this server) instead of SQLite")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    args = parser.parse_args()

    bench.ensure_tools()
    bench.log("building release binaries")
    bench.run(["cargo", "build", "--release", "--quiet", "-p", "roster", "-p", "roster-bench"], cwd=bench.ROOT)
    work = tempfile.mkdtemp(prefix="roster-soak-")
    server, pg_database = None, None
    seconds = max(1, int(args.minutes * 60))
    warmup = min(60, max(1, seconds // 10))
    try:
        if args.postgres:
            pg_database = f"roster_soak_{os.getpid()}"
            bench.run(["psql", args.postgres + "/postgres", "-qc", f"CREATE DATABASE {pg_database}"])
            url = f"{args.postgres}/{pg_database}"
        else:
            url = f"sqlite://{work}/roster.db"
        _, server = bench.start_roster(url)
        rss = RssSeries(server.pid)

        users_file = os.path.join(work, "users.ndjson")
        bench.log(f"generating and importing {args.users:,} users")
        bench.run([bench.BENCH, "users", "--count", str(args.users), "--output", users_file])
        subprocess.run(["curl", "-sS", "--fail-with-body", "-X", "POST", "-T", users_file,
                        "-H", f"Authorization: Bearer {bench.SECRET}",
                        "-H", "Content-Type: application/x-ndjson",
                        f"http://{bench.SERVER}/v1/users/import"],
                       check=True, capture_output=True, text=True)
        probe_file = os.path.join(work, "probe.json")
        with open(probe_file, "w") as out:
            bench.run([bench.BENCH, "probe", "--database-url", url], stdout=out)

        bench.log(f"soaking: {args.rate:,} requests a second for {seconds} s "
                  f"(warm-up {warmup} s); one line a second")
        rss.begin()
        load = subprocess.Popen([bench.BENCH, "load", "--server", bench.SERVER, "--key", bench.SECRET,
                                 "--rate", str(args.rate), "--seconds", str(seconds),
                                 "--probe", probe_file], stdout=subprocess.PIPE, text=True)
        per_second = []
        for line in load.stdout:
            report = json.loads(line)
            if report["second"] is None:
                whole = report
            else:
                per_second.append(report)
                if report["second"] % 30 == 0 or report["errors"]:
                    bench.log(f"{report['second']:>4} s: {report['ok']} ok, {report['errors']} errors, "
                              f"p99 {report['p99_ms']:.1f} ms, RSS {rss.at(report['second']) / 1024:.0f} MB")
        if load.wait() != 0:
            raise SystemExit("roster-bench load failed")
        time.sleep(15)  # what the server's memory does once the load has stopped
        rss.stop = True
    finally:
        if server:
            bench.stop([server])
        if pg_database:
            subprocess.run(["psql", args.postgres + "/postgres", "-qc",
                            f"DROP DATABASE IF EXISTS {pg_database}"])
        shutil.rmtree(work, ignore_errors=True)

    after_warmup = rss.at(warmup)
    # Growth is measured while the load runs: at its last second. The last sample, taken
    # once the load has stopped, is shown beside it (an idle server merges the search index
    # the writes left in pieces, which fills the writer's page cache).
    end = rss.at(seconds - 1)
    settled = rss.samples[-1][1] if rss.samples else 0
    bench.log("RSS every 10 s (MB): " + " ".join(
        f"{kb / 1024:.0f}" for t, kb in rss.samples if int(t) % 10 == 0))
    peak = max(kb for _, kb in rss.samples) if rss.samples else 0
    growth = (end - after_warmup) / after_warmup * 100 if after_warmup else 0.0
    steady = [r for r in per_second if r["second"] >= warmup]
    worst = max(steady or per_second, key=lambda r: r["p99_ms"])
    statuses = ", ".join(f"{n} × {s}" for s, n in whole["statuses"].items()) or "none"
    store = "PostgreSQL" if args.postgres else "SQLite"
    lines = [
        BEGIN.format(store=store),
        f"## Soak, {store}, {args.users:,} users",
        "",
        f"`bench/soak --minutes {args.minutes:g} --rate {args.rate}{' --postgres' if args.postgres else ''}"
        f"{'' if args.users == 1_000_000 else f' --users {args.users}'}` on {time.strftime('%Y-%m-%d')}: "
        f"{os.cpu_count()} cores; the load generator on the same machine. Mix: 40% GET a user, 22% list "
        "pages (first page; role+status), 8% searches, 15% POST /v1/users, 10% PATCH, 5% deactivate; "
        f"open loop (latency from when each request was due). Warm-up: the first {warmup} s.",
        "",
        "| figure | value | goal |",
        "| --- | ---: | --- |",
        f"| requests sent | {whole['sent']:,} | |",
        f"| errors (non-2xx, failed, refused) | {whole['errors']:,} (statuses: {statuses}; failed {whole['failed']}; "
        f"refused {whole['refused']}) | 0 |",
        f"| latency p50 / p99 / max, whole run | {whole['p50_ms']:.2f} / {whole['p99_ms']:.2f} / {whole['max_ms']:.1f} ms | |",
        f"| worst second's p99 after warm-up | {worst['p99_ms']:.1f} ms (second {worst['second']}) | |",
        f"| RSS after warm-up → at the load's last second (peak) | {after_warmup / 1024:.0f} MB → "
        f"{end / 1024:.0f} MB ({peak / 1024:.0f} MB) | |",
        f"| RSS 15 s after the load stopped | {settled / 1024:.0f} MB | |",
        f"| RSS growth after warm-up | {growth:+.1f}% | ≤ 10% |",
        END.format(store=store),
    ]
    section = "\n".join(lines)
    print(section)
    if args.no_write:
        return
    bench.write_section(BEGIN.format(store=store), END.format(store=store), section)


if __name__ == "__main__":
    main()
