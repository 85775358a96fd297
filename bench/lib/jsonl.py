#!/usr/bin/env python3
"""jsonl.py - JSON helpers for the bench harness (python3 only, no jq).

  jsonl.py record OUT.jsonl KEY=VALUE...   append one object; values that look
                                           like numbers become numbers
  jsonl.py iperf IPERF3.json               print: gbps retransmits client_cpu
                                           server_cpu error (error last, may be empty)
"""
import json
import re
import sys

NUM = re.compile(r'^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')


def record(out, pairs):
    obj = {}
    for kv in pairs:
        k, _, v = kv.partition('=')
        if NUM.match(v):
            obj[k] = float(v) if any(c in v for c in '.eE') else int(v)
        else:
            obj[k] = v
    with open(out, 'a') as f:
        f.write(json.dumps(obj, ensure_ascii=False) + '\n')


def iperf(path):
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError):
        print('0 0 0 0 no parsable iperf3 output')
        return
    end = d.get('end', {})
    gbps = end.get('sum_received', {}).get('bits_per_second', 0) / 1e9
    retr = end.get('sum_sent', {}).get('retransmits', 0)
    cpu = end.get('cpu_utilization_percent', {})
    err = d.get('error', '') or ''
    print(f"{gbps:.6f} {retr} {cpu.get('host_total', 0):.1f} {cpu.get('remote_total', 0):.1f} {err}")


if __name__ == '__main__':
    if sys.argv[1] == 'record':
        record(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == 'iperf':
        iperf(sys.argv[2])
