#!/usr/bin/env python3
"""report.py - markdown tables from the bench harness's results.jsonl files.

usage: report.py RESULTS.jsonl [RESULTS.jsonl...]

One section per suite (switch, nat, overlay, vpn, vm).  Cells are medians over repetitions.
The first implementation of a suite (vnetd) is the subject: ratio columns are
vnetd / peer for rates (Gbit/s, round trips/s) and peer / vnetd for times (ping
RTT), so a ratio above 1 always means vnetd did better.
Marks: '*' a repetition ran while foreign processes used more than FOREIGN_MAX
% of a core (the harness retried it, then kept it); '!' a run failed (error
kept in the raw file); '[n=K]' fewer repetitions than the others.
Tests whose name ends in 6 (before _pin) are the IPv6 runs of a test; their
rows follow the IPv4 row, and a last table gives IPv6 / IPv4 of each build.
"""
import json
import os
import statistics
import sys

FOREIGN_MAX = float(os.environ.get('FOREIGN_MAX', 10))

TITLES = {
    'switch': 'L2 switching: two namespaces through the switch',
    'nat': 'User-mode NAT: a namespace behind the NAT, host = loopback of a host namespace',
    'overlay': 'VXLAN overlay: two guests on two hosts (namespaces), MTU = the underlay\'s',
    'vpn': 'VPN: a laptop (wireguard-go) to a guest through the tunnel\'s endpoint, MTU = the underlay\'s '
           '(tunnel 1420)',
    'vm': 'QEMU TCG guest (virtio-net) behind a user-mode NAT, host = loopback of a host namespace, '
          'MTU = the guest\'s',
}
DIRS = {
    'switch': {'tcp_g2h': 'TCP ns b → ns a', 'tcp_h2g': 'TCP ns a → ns b'},
    'nat': {'tcp_g2h': 'TCP ns → host (10.0.2.2 → 127.0.0.1)',
            'tcp_g2h6': 'IPv6 TCP ns → host (gateway6 → ::1)',
            'tcp_h2g': 'TCP host → ns (forwarded port)',
            'tcp_h2g6': 'IPv6 TCP host → ns (forwarded port)'},
    'overlay': {'tcp_g2h': 'TCP guest b → guest a', 'tcp_h2g': 'TCP guest a → guest b'},
    'vpn': {'tcp_g2h': 'TCP laptop → guest', 'tcp_h2g': 'TCP guest → laptop'},
    'vm': {'tcp_g2h': 'TCP guest → host (10.0.2.2 → 127.0.0.1)',
           'tcp_h2g': 'TCP host → guest (forwarded port)'},
}
TCP_TESTS = ('tcp_g2h', 'tcp_g2h6', 'tcp_h2g', 'tcp_h2g6')
RR_NAMES = {
    'rr_tcp_g2h_pin': 'TCP RR, all on 1 CPU',
    'rr_tcp_g2h6_pin': 'IPv6 TCP RR, all on 1 CPU',
    'rr_udp_g2h_pin': 'UDP RR, all on 1 CPU',
    'rr_udp_g2h6_pin': 'IPv6 UDP RR, all on 1 CPU',
    'rr_tcp_h2g_pin': 'TCP RR host → ns (forwarded), 1 CPU',
    'rr_tcp_h2g6_pin': 'IPv6 TCP RR host → ns (forwarded), 1 CPU',
    'rr_tcp_g2h': 'TCP RR, not pinned',
    'rr_udp_g2h': 'UDP RR, not pinned',
    'rr_tcp_h2g': 'TCP RR host → ns, not pinned',
}
PING_NAMES = {'ping_g2h': 'ping', 'ping_g2h6': 'IPv6 ping'}
RR_TOOLS = {
    'sockperf': 'sockperf ping-pong',
    'pingpong': 'bench/tools/pingpong',
}


def v4_of(test):
    """the IPv4 test of an IPv6 test name (rr_tcp_g2h6_pin -> rr_tcp_g2h_pin), else None"""
    base, pin = (test[:-4], '_pin') if test.endswith('_pin') else (test, '')
    return base[:-1] + pin if base.endswith('6') else None


def load(paths):
    recs = []
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line:
                    recs.append(json.loads(line))
    return recs


def median(rs, field):
    vals = [r[field] for r in rs if isinstance(r.get(field), (int, float))]
    return statistics.median(vals) if vals else None


def flags(rs, nmax):
    s = ''
    if any(r.get('foreign_cpu_pct', 0) > FOREIGN_MAX for r in rs):
        s += '*'
    if any(r.get('error') for r in rs):
        s += '!'
    if len(rs) < nmax:
        s += f' [n={len(rs)}]'
    return s


def ratio(a, b):
    if a is None or b is None:
        return '–'
    if b <= 0 or a / b > 100:
        return '> 100'
    r = a / b
    return f'{r:.0f}' if r >= 10 else f'{r:.2f}'


def human_rate(v):
    return f'{v / 1000:.1f}k' if v >= 1000 else f'{v:.0f}'


def section(suite, recs, out):
    runs = [r for r in recs if r['suite'] == suite and r['test'] not in ('meta', 'memory')
            and r.get('status') != 'unsupported']
    unsup_tests = {(r['mtu'], r['test'], r['impl']) for r in recs
                   if r['suite'] == suite and r.get('status') == 'unsupported' and r['test'] != 'meta'}
    metas = [r for r in recs if r['suite'] == suite and r['test'] == 'meta']
    mems = [r for r in recs if r['suite'] == suite and r['test'] == 'memory']
    if not runs and not metas:
        return
    impls, mtus = [], []
    for r in metas + runs:
        if r['impl'] not in impls:
            impls.append(r['impl'])
        if r['mtu'] not in mtus:
            mtus.append(r['mtu'])
    subj, peers = impls[0], impls[1:]
    groups = {}
    for r in runs:
        groups.setdefault((r['mtu'], r['test'], r['impl']), []).append(r)
    nmax = max((len(v) for v in groups.values()), default=0)
    unsupported = {(m['mtu'], m['impl']) for m in metas if m.get('status') == 'unsupported'}

    def cell(mtu, test, impl, field, fmt):
        rs = groups.get((mtu, test, impl))
        if not rs:
            unsup = (mtu, impl) in unsupported or (mtu, test, impl) in unsup_tests
            return ('unsupported' if unsup else '–'), None
        if all(r.get('error') for r in rs):  # every repetition failed: no figure
            return 'fails' + flags(rs, nmax), None
        v = median([r for r in rs if not r.get('error')], field)
        return (fmt(v) if v is not None else '–') + flags(rs, nmax), v

    def paired(mtu, test, base, impl, field):
        """median over repetitions of test's value / base's value in the same
        repetition (both without error), or None when no repetition has both"""
        def by_rep(t):
            return {r['rep']: r[field] for r in groups.get((mtu, t, impl), [])
                    if not r.get('error') and isinstance(r.get(field), (int, float))}
        a, b = by_rep(test), by_rep(base)
        rs = [a[k] / b[k] for k in a if k in b and b[k] > 0]
        return statistics.median(rs) if rs else None

    w = out.write
    w(f'### {TITLES.get(suite, suite)}\n\n')
    hdr = '| ' + ' | '.join(impls + [f'{subj}/{p}' for p in peers]) + ' |'
    sep = '|---' * (2 + len(impls) + len(peers)) + '|\n'

    # throughput
    w('Single TCP stream (iperf3), Gbit/s:\n\n')
    w('| MTU | direction ' + hdr + '\n' + sep)
    def present(mtu, test):
        return any(k[0] == mtu and k[1] == test for k in groups) or \
            any(k[0] == mtu and k[1] == test for k in unsup_tests)

    for mtu in mtus:
        for test in TCP_TESTS:
            if not present(mtu, test):
                continue
            cells, vals = [], {}
            for i in impls:
                c, v = cell(mtu, test, i, 'gbps', lambda x: f'{x:.2f}')
                cells.append(c)
                vals[i] = v
            w(f'| {mtu} | {DIRS[suite][test]} | ' + ' | '.join(cells + [ratio(vals[subj], vals[p]) for p in peers]) + ' |\n')

    # two pairs in parallel (switch.sh's tcp_pair2): aggregate and scaling
    if any(k[1] == 'tcp_pair2' for k in groups) or any(k[1] == 'tcp_pair2' for k in unsup_tests):
        w('\nTwo pairs in parallel: a single TCP stream in each of two independent pairs of '
          'namespaces at once (pair 2 on a second network of the same switch: a second vnetd '
          'network, a second bridge), Gbit/s; scaling = the aggregate / one pair alone (TCP ns b '
          '→ ns a above), the median over repetitions of the ratio within a repetition:\n\n')
        w('| MTU | config | one pair | two pairs: aggregate (pair 1 + pair 2) | scaling |\n'
          '|---|---|---|---|---|\n')
        for mtu in mtus:
            for i in impls:
                if not present(mtu, 'tcp_pair2'):
                    continue
                one, _ = cell(mtu, 'tcp_g2h', i, 'gbps', lambda x: f'{x:.2f}')
                agg, v = cell(mtu, 'tcp_pair2', i, 'gbps', lambda x: f'{x:.2f}')
                rs = [r for r in groups.get((mtu, 'tcp_pair2', i), []) if not r.get('error')]
                if v is not None and rs:
                    agg += f' ({median(rs, "gbps_pair1"):.2f} + {median(rs, "gbps_pair2"):.2f})'
                sc = paired(mtu, 'tcp_pair2', 'tcp_g2h', i, 'gbps')
                w(f'| {mtu} | {i} | {one} | {agg} | {f"{sc:.2f}×" if sc else "–"} |\n')

    # request/response and ping
    rr_tests = [t for t in RR_NAMES if any(k[1] == t for k in groups)]
    if rr_tests or any(k[1] in PING_NAMES for k in groups):
        tools = sorted({r.get('rr_tool', 'sockperf') for r in runs if r['test'] in RR_NAMES})
        w(f'\nRequest/response ({" and ".join(RR_TOOLS.get(t, t) for t in tools) or "ping-pong"}, '
          f'{next((r["rr_msg"] for r in runs if "rr_msg" in r), 64)} B, one message in flight): '
          'round trips/s (mean RTT µs); ping: mean RTT µs:\n\n')
        w('| MTU | test ' + hdr + '\n' + sep)
        for mtu in mtus:
            for test in rr_tests:
                if not present(mtu, test):
                    continue
                cells, vals = [], {}
                for i in impls:
                    rs = groups.get((mtu, test, i))
                    c, v = cell(mtu, test, i, 'rr_per_s', human_rate)
                    if rs and v is not None:
                        lat = median([r for r in rs if not r.get('error')], 'rtt_avg_us')
                        c = f'{human_rate(v)} ({lat:.0f})' + flags(rs, nmax)
                    cells.append(c)
                    vals[i] = v
                w(f'| {mtu} | {RR_NAMES[test]} | ' + ' | '.join(cells + [ratio(vals[subj], vals[p]) for p in peers]) + ' |\n')
            for test, name in PING_NAMES.items():
                if not present(mtu, test):
                    continue
                cells, vals = [], {}
                for i in impls:
                    c, v = cell(mtu, test, i, 'ping_avg_us', lambda x: f'{x:.0f}')
                    cells.append(c)
                    vals[i] = v
                n = next((r['ping_n'] for r in runs if r['test'] == test and 'ping_n' in r), 300)
                w(f'| {mtu} | {name} ({n} × 5 ms) | ' + ' | '.join(cells + [ratio(vals[p], vals[subj]) for p in peers]) + ' |\n')

    # IPv6 relative to IPv4, the same build in the same run
    v6 = [t for t in TCP_TESTS + tuple(RR_NAMES) + tuple(PING_NAMES) if v4_of(t) and
          any(k[1] == t for k in groups)]
    if v6:
        w('\nIPv6 / IPv4 of the same build in this run (rates: IPv6 / IPv4; ping: IPv4 RTT / '
          'IPv6 RTT; below 1: IPv6 is slower). Each IPv6 run follows its IPv4 twin, so the '
          'first figure pairs them: the median over repetitions of IPv6 rep k / IPv4 rep k, '
          'which cancels the machine\'s slow and fast phases; in parentheses the ratio of the '
          'two medians above:\n\n')
        w('| MTU | test | ' + ' | '.join(impls) + ' |\n' + '|---' * (2 + len(impls)) + '|\n')
        for mtu in mtus:
            for t in v6:
                if not present(mtu, t):
                    continue
                field = 'ping_avg_us' if t in PING_NAMES else 'gbps' if t in TCP_TESTS else 'rr_per_s'
                cells = []
                for i in impls:
                    a, va = cell(mtu, t, i, field, str)
                    b, vb = cell(mtu, v4_of(t), i, field, str)
                    if va is None or vb is None:  # unsupported, fails or missing
                        cells.append(a if va is None else b)
                        continue
                    pr = paired(mtu, t, v4_of(t), i, field)
                    if field == 'ping_avg_us':
                        va, vb = vb, va
                        pr = 1 / pr if pr else pr
                    cells.append(f'{ratio(pr, 1) if pr else "–"} ({ratio(va, vb)})')
                name = (DIRS[suite].get(t) or RR_NAMES.get(t) or PING_NAMES[t]).replace('IPv6 ', '')
                w(f'| {mtu} | {name} | ' + ' | '.join(cells) + ' |\n')

    # CPU and memory of the user-space processes
    w('\nCPU of the forwarding process(es) during single-stream TCP (% of one core), '
      'CPU per Gbit/s, and memory (kB: VmRSS idle after set-up, largest VmRSS sampled '
      'mid-test, peak = the larger of VmHWM at the end and the samples):\n\n')
    w('| config | MTU | CPU % ' + ' / '.join(DIRS[suite][t].split(' (')[0] for t in ('tcp_g2h', 'tcp_h2g')) +
      ' | CPU % per Gbit/s | machine busy % (of 200) | RSS idle | RSS under load | peak |\n')
    w('|---|---|---|---|---|---|---|---|\n')
    for i, fam, mtu in [(i, f, m) for i in impls for f in ('', '6') for m in mtus]:
        tcp = [groups.get((mtu, t + fam, i), []) for t in ('tcp_g2h', 'tcp_h2g')]
        if not any(tcp):
            continue
        cpu = [median(rs, 'daemon_cpu_pct') if rs else None for rs in tcp]
        gb = [median(rs, 'gbps') if rs else None for rs in tcp]
        busy = median(tcp[0] + tcp[1], 'sys_busy_pct')
        per = [c / g if c is not None and g else None for c, g in zip(cpu, gb)]
        meta = [m for m in metas if m['impl'] == i and m['mtu'] == mtu and m.get('status') == 'ok']
        mem = [m for m in mems if m['impl'] == i and m['mtu'] == mtu]
        allruns = [r for (m2, _, i2), rs in groups.items() if m2 == mtu and i2 == i for r in rs]
        load_rss = max((r.get('daemon_rss_kb', 0) for r in allruns), default=0)
        kernel = meta and not meta[0].get('daemons')
        def f(v, spec='.0f'):
            return '–' if v is None else format(v, spec)
        if kernel:
            w(f'| {i}{" IPv6" if fam else ""} | {mtu} | kernel (softirq) | – | {f(busy)} | – | – | – |\n')
            continue
        if fam:  # memory is the configuration's, shown on its IPv4 row
            w(f'| {i} IPv6 | {mtu} | {" / ".join(f(c) for c in cpu)} | '
              f'{" / ".join(f(p) for p in per)} | {f(busy)} | ″ | ″ | ″ |\n')
            continue
        w(f'| {i} | {mtu} | {" / ".join(f(c) for c in cpu)} | '
          f'{" / ".join(f(p) for p in per)} | {f(busy)} | '
          f'{meta[0]["rss_idle_kb"] if meta else "–"} | {load_rss or "–"} | '
          f'{max(mem[0]["hwm_kb"], load_rss) if mem else "–"} |\n')

    # conditions
    fr = [r.get('foreign_cpu_pct', 0) for r in runs]
    if fr:
        noisy = sum(1 for v in fr if v > FOREIGN_MAX)
        w(f'\nConditions: {len(runs)} runs kept; foreign load (other users of the machine) '
          f'median {statistics.median(fr):.0f} %, max {max(fr):.0f} % of a core; '
          f'{noisy} run(s) above {FOREIGN_MAX:.0f} % marked *. '
          f'Guard: {sum(r.get("guard_tx", 0) for r in runs)} packet(s) left through a void uplink.\n')
        tops = {}
        for r in runs:
            for part in (r.get('foreign_top') or '-').split(','):
                if ':' in part:
                    c, v = part.rsplit(':', 1)
                    tops[c] = tops.get(c, 0) + float(v.rstrip('%'))
        if tops:
            top = sorted(tops.items(), key=lambda x: -x[1])[:4]
            w('Busiest foreign processes (sum of % over runs): ' +
              ', '.join(f'{c} {v:.0f}' for c, v in top) + '.\n')
    w('\n')


def main():
    recs = load(sys.argv[1:])
    suites = []
    for r in recs:
        if r['suite'] not in suites:
            suites.append(r['suite'])
    for s in suites:
        section(s, recs, sys.stdout)


if __name__ == '__main__':
    main()
