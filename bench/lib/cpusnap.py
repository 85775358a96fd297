#!/usr/bin/env python3
"""cpusnap.py - CPU accounting for the bench harness.

  cpusnap.py snap OUT.json                   /proc/stat + every process's CPU time
  cpusnap.py delta A.json B.json ROOT [PID,PID...] [OURS,OURS...]
      prints: daemon_cpu_pct sys_busy_pct foreign_cpu_pct top_foreign
      (percent of one core; sys_busy covers all cores, 200 = 2 cores busy).
      daemon = sum over the listed PIDs (the user-space switch/NAT processes);
      foreign = user processes that are neither descendants of ROOT (the bench
      script) nor daemons, i.e. other users of the machine. Kernel threads are
      left out of "foreign": they also carry our own softirq work. OURS: more
      processes of the bench (idle daemons of the other configurations).

Adapted from /work/shared/bench-peers/cpusnap.py (several daemon PIDs).
"""
import json
import os
import sys
import time


def snap():
    with open('/proc/stat') as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    procs = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open(f'/proc/{d}/stat') as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index('(') + 1:s.rindex(')')]
        rest = s[s.rindex(')') + 2:].split()
        ppid, flags = int(rest[1]), int(rest[6])
        ticks = int(rest[11]) + int(rest[12])
        kthread = bool(flags & 0x00200000) or int(d) == 2 or ppid == 2
        procs[d] = [ppid, ticks, comm, kthread]
    return {'wall': time.time(), 'cpu': cpu, 'procs': procs}


def delta(a, b, root, daemons, others):
    hz = os.sysconf('SC_CLK_TCK')
    wall = max(b['wall'] - a['wall'], 1e-9)
    ta, tb = sum(a['cpu']), sum(b['cpu'])
    ia, ib = a['cpu'][3] + a['cpu'][4], b['cpu'][3] + b['cpu'][4]
    busy = (1 - (ib - ia) / max(tb - ta, 1)) * 100 * os.cpu_count()
    ours = {str(root)} | set(daemons) | set(others)
    for snapd in (a['procs'], b['procs']):
        changed = True
        while changed:
            changed = False
            for pid, (ppid, _, _, _) in snapd.items():
                if pid not in ours and str(ppid) in ours:
                    ours.add(pid)
                    changed = True
    foreign = 0.0
    top = {}
    for pid, (ppid, t, comm, kth) in b['procs'].items():
        if kth or pid in ours or int(pid) == 1:
            continue
        d = t - a['procs'].get(pid, [0, 0])[1]
        if d > 0:
            foreign += d
            top[comm] = top.get(comm, 0) + d
    dticks = 0
    for p in daemons:
        if p in a['procs'] and p in b['procs']:
            dticks += b['procs'][p][1] - a['procs'][p][1]
    dcpu = dticks / hz / wall * 100
    f = foreign / hz / wall * 100
    tops = ','.join(f'{c}:{v / hz / wall * 100:.0f}%' for c, v in
                    sorted(top.items(), key=lambda x: -x[1])[:3]) or '-'
    print(f'{dcpu:.1f} {busy:.1f} {f:.1f} {tops}')


if __name__ == '__main__':
    if sys.argv[1] == 'snap':
        with open(sys.argv[2], 'w') as f:
            json.dump(snap(), f)
    else:
        with open(sys.argv[2]) as fa, open(sys.argv[3]) as fb:
            a, b = json.load(fa), json.load(fb)
        pids = [p for p in (sys.argv[5].split(',') if len(sys.argv) > 5 else []) if p]
        others = [p for p in (sys.argv[6].split(',') if len(sys.argv) > 6 else []) if p]
        delta(a, b, sys.argv[4], pids, others)
