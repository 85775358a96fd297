/* --print-config: the effective model as YAML that the loader reads back. */
#include "config.h"
#include "core/log.h"
#include "core/util.h"

#include <string.h>

/* Print s as a YAML double-quoted scalar (safe for any path). */
static void qstr(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(o, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(o, "\\x%02x", ch);
        else
            fputc(ch, o);
    }
    fputc('"', o);
}

/* Rules in the YAML form (one flow mapping per rule). */
static void print_rules(const struct vn_acl *a, const char *indent, FILE *o)
{
    for (unsigned i = 0; i < a->n; i++) {
        /* "allow in k=v k=v" -> "{ action: allow, direction: in, k: v }" */
        char buf[sizeof a->rules[i].text];
        snprintf(buf, sizeof buf, "%s", a->rules[i].text);
        char *save = NULL, *t = strtok_r(buf, " ", &save);
        fprintf(o, "%s- { action: %s", indent, t);
        t = strtok_r(NULL, " ", &save);
        fprintf(o, ", direction: %s", t);
        while ((t = strtok_r(NULL, " ", &save))) {
            char *eq = strchr(t, '=');
            if (!eq)
                continue;
            *eq = 0;
            fprintf(o, ", %s: \"%s\"", t, eq + 1);
        }
        fprintf(o, " }\n");
    }
}

static void print_net(const struct vn_net_conf *n, FILE *o)
{
    fprintf(o, "  - name: %s\n", n->name);
    fprintf(o, "    mode: %s\n", vn_net_mode_name(n->mode));
    if (n->vlan)
        fprintf(o, "    vlan: %u\n", n->vlan);
    fprintf(o, "    mtu: %u\n", n->mtu);
    fprintf(o, "    fdb_max: %u\n", n->fdb_max);
    fprintf(o, "    fdb_aging: %u\n", n->fdb_aging);
    if (n->acl.n || n->acl_default_drop) {
        fprintf(o, "    acl:\n      default: %s\n", n->acl_default_drop ? "drop" : "allow");
        if (n->acl.n) {
            fprintf(o, "      rules:\n");
            print_rules(&n->acl, "        ", o);
        }
    }
    if (n->uplink[0]) {
        fprintf(o, "    uplink: ");
        qstr(o, n->uplink);
        fputc('\n', o);
    }
    if (n->host_interface[0]) {
        fprintf(o, "    host_interface: ");
        qstr(o, n->host_interface);
        fputc('\n', o);
    }
    if (!vn_net_has_gateway(n))
        return;
    char a[16], b[16], mac[18], hs[64];
    fprintf(o, "    subnet: %s/%u\n", vn_ip4_str(n->subnet, a), n->prefix);
    fprintf(o, "    gateway: %s\n", vn_ip4_str(n->gateway, a));
    if (n->mode == VN_MODE_NAT && n->nloopback_ports) {
        fprintf(o, "    map_host_loopback:\n      ports: [");
        for (unsigned k = 0; k < n->nloopback_ports; k++) {
            const uint16_t *r = n->loopback_ports[k];
            if (r[0] == r[1])
                fprintf(o, "%s%u", k ? ", " : "", r[0]);
            else
                fprintf(o, "%s\"%u-%u\"", k ? ", " : "", r[0], r[1]);
        }
        fprintf(o, "]\n");
    } else if (n->mode == VN_MODE_NAT) {
        fprintf(o, "    map_host_loopback: %s\n", n->map_host_loopback ? "true" : "false");
    }
    fprintf(o, "    dhcp:\n      enabled: %s\n      range: %s-%s\n      lease_time: %u\n",
            n->dhcp ? "true" : "false", vn_ip4_str(n->dhcp_start, a), vn_ip4_str(n->dhcp_end, b),
            n->lease_time);
    if (n->nhosts)
        fprintf(o, "      hosts:\n");
    for (unsigned i = 0; i < n->nhosts; i++) {
        const struct vn_dhcp_host *h = &n->hosts[i];
        const char *sep = "        - ";
        if (h->has_mac) {
            fprintf(o, "%smac: \"%s\"\n", sep, vn_mac_str(h->mac, mac));
            sep = "          ";
        }
        if (h->ip) {
            fprintf(o, "%sip: %s\n", sep, vn_ip4_str(h->ip, a));
            sep = "          ";
        }
        if (h->name[0])
            fprintf(o, "%sname: %s\n", sep, h->name);
    }
    fprintf(o, "    dns:\n      enabled: %s\n      address: %s\n      domain: %s\n      cache: %u\n",
            n->dns ? "true" : "false", vn_ip4_str(n->dns_addr, a), n->domain, n->dns_cache);
    if (n->nupstream) {
        fprintf(o, "      upstream:\n");
        for (unsigned i = 0; i < n->nupstream; i++)
            fprintf(o, "        - \"%s\"\n", vn_sockaddr_str(&n->upstream[i], hs, sizeof hs));
    }
    if (n->mode == VN_MODE_NAT)
        fprintf(o, "    nat:\n      max_flows: %u\n      max_flows_per_guest: %u\n"
                   "      forward_pending: %u\n      forward_syn_timeout: %u\n"
                   "      udp_timeout: %u\n      tcp_timeout: %u\n",
                n->max_flows, n->max_flows_per_guest, n->forward_pending,
                n->forward_syn_timeout, n->udp_timeout, n->tcp_timeout);
    if (n->nforwards)
        fprintf(o, "    forwards:\n");
    for (unsigned i = 0; i < n->nforwards; i++) {
        const struct vn_forward_conf *f = &n->forwards[i];
        fprintf(o, "      - { proto: %s, host: \"%s\", guest: \"%s:%u\" }\n",
                f->proto == 6 ? "tcp" : "udp", vn_sockaddr_str(&f->host, hs, sizeof hs),
                vn_ip4_str(f->guest_ip, a), f->guest_port);
    }
}

static void print_port(const struct vn_port_conf *p, FILE *o)
{
    char mac[18];
    fprintf(o, "  - name: %s\n", p->name);
    fprintf(o, "    type: %s\n", vn_port_type_name(p->type));
    if (p->network[0])
        fprintf(o, "    network: %s\n", p->network);
    if (p->ntrunk) {
        fprintf(o, "    trunk: [");
        for (unsigned i = 0; i < p->ntrunk; i++)
            fprintf(o, "%s%s", i ? ", " : "", p->trunk[i]);
        fprintf(o, "]\n");
        if (p->native[0])
            fprintf(o, "    native: %s\n", p->native);
    }
    if (p->path[0]) {
        fprintf(o, "    path: ");
        qstr(o, p->path);
        fputc('\n', o);
    }
    if (p->netns[0]) {
        fprintf(o, "    netns: ");
        qstr(o, p->netns);
        fputc('\n', o);
    }
    if (p->ifname[0]) {
        fprintf(o, "    ifname: ");
        qstr(o, p->ifname);
        fputc('\n', o);
    }
    if (p->has_mac)
        fprintf(o, "    mac: \"%s\"\n", vn_mac_str(p->mac, mac));
    if (p->mtu)
        fprintf(o, "    mtu: %u\n", p->mtu);
    if (p->trusted)
        fprintf(o, "    trusted: true\n");
    if (p->nsec_macs || p->nsec_ips || p->ip_binding || p->max_macs) {
        fprintf(o, "    security:\n");
        if (p->nsec_macs) {
            fprintf(o, "      macs: [");
            for (unsigned i = 0; i < p->nsec_macs; i++)
                fprintf(o, "%s\"%s\"", i ? ", " : "", vn_mac_str(p->sec_macs[i], mac));
            fprintf(o, "]\n");
        }
        if (p->nsec_ips) {
            char ip[16];
            fprintf(o, "      ips: [");
            for (unsigned i = 0; i < p->nsec_ips; i++)
                fprintf(o, "%s%s", i ? ", " : "", vn_ip4_str(p->sec_ips[i], ip));
            fprintf(o, "]\n");
        }
        fprintf(o, "      ip_binding: %s\n", p->ip_binding ? "true" : "false");
        if (p->max_macs)
            fprintf(o, "      max_macs: %u\n", p->max_macs);
    }
    if (p->rate_in_bps || p->rate_in_pps || p->rate_out_bps || p->rate_out_pps)
        fprintf(o, "    rate: { in: { bps: %llu, pps: %llu, burst: %llu }, "
                   "out: { bps: %llu, pps: %llu, burst: %llu } }\n",
                (unsigned long long)p->rate_in_bps, (unsigned long long)p->rate_in_pps,
                (unsigned long long)p->rate_in_burst, (unsigned long long)p->rate_out_bps,
                (unsigned long long)p->rate_out_pps, (unsigned long long)p->rate_out_burst);
    if (p->acl.n) {
        fprintf(o, "    acl:\n");
        print_rules(&p->acl, "      ", o);
    }
    if (p->storm_bcast || p->storm_mcast)
        fprintf(o, "    storm: { broadcast: %u, multicast: %u }\n", p->storm_bcast, p->storm_mcast);
}

void vn_conf_print(const struct vn_config *c, FILE *o)
{
    static const char *const lv[] = { "error", "warn", "info", "debug" };
    fprintf(o, "# effective vnetd configuration\n");
    fprintf(o, "control: ");
    qstr(o, c->control);
    fprintf(o, "\ncontrol_mode: \"%04o\"\n", c->control_mode);
    if (c->control_group[0]) {
        fprintf(o, "control_group: ");
        qstr(o, c->control_group);
        fputc('\n', o);
    }
    if (c->pidfile[0]) {
        fprintf(o, "pid: ");
        qstr(o, c->pidfile);
        fputc('\n', o);
    }
    if (c->state_dir[0]) {
        fprintf(o, "state_dir: ");
        qstr(o, c->state_dir);
        fputc('\n', o);
    }
    fprintf(o, "log: %s\n", lv[c->log_level < 0 ? VN_LOG_INFO : c->log_level]);
    fprintf(o, "conntrack_max: %u\n", c->conntrack_max);
    fprintf(o, "sandbox: %s\n", c->sandbox ? "true" : "false");
    if (c->metrics[0]) {
        fprintf(o, "metrics: ");
        qstr(o, c->metrics);
        fputc('\n', o);
    }
    fprintf(o, "networks:%s\n", c->nnets ? "" : " []");
    for (unsigned i = 0; i < c->nnets; i++)
        print_net(&c->nets[i], o);
    unsigned explicit_ports = 0;
    for (unsigned i = 0; i < c->nports; i++)
        explicit_ports += !c->ports[i].implicit;
    fprintf(o, "ports:%s\n", explicit_ports ? "" : " []");
    for (unsigned i = 0; i < c->nports; i++)
        if (!c->ports[i].implicit)
            print_port(&c->ports[i], o);
    if (c->nmirrors)
        fprintf(o, "mirrors:\n");
    for (unsigned i = 0; i < c->nmirrors; i++) {
        static const char *const dn[] = { "", "in", "out", "both" };
        const struct vn_mirror_conf *m = &c->mirrors[i];
        fprintf(o, "  - { name: %s, from: [", m->name);
        for (unsigned k = 0; k < m->nfrom; k++)
            fprintf(o, "%s%s", k ? ", " : "", m->from[k]);
        fprintf(o, "], direction: %s, to: %s }\n", dn[m->dir], m->to);
    }
}
