/* The configuration model: what the YAML file and the command line both build.
 *
 * Theory of operation: vnetd never acts on text. Every key is a row of the
 * schema (schema.h: name, type, limits, default, where it lives in these
 * structs, help). The YAML loader (yaml.c) and the flag parser (flags.c)
 * fill a struct vn_config through it (vn_conf_net_set / vn_conf_port_set
 * are lookups in it), then vn_conf_validate() (validate.c) checks the whole
 * model (references, ranges, conflicts) and fills defaults that depend on
 * other keys. Each item remembers where it came from (file and line, or
 * "command line") so every error can name it. Only a model that validated
 * is handed to the switch; --print-config prints it back as YAML by walking
 * the schema (print.c). Files: config.c (this model's lifecycle), schema.c
 * and port_types.c (the key tables), values.c (value parsers), validate.c,
 * yaml.c, flags.c, print.c. */
#ifndef VN_CONF_CONFIG_H
#define VN_CONF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/util.h"
#include "fw/acl.h"
#include "pkt/addr.h"

#define VN_NAME_MAX 32     /* network and port names, including the NUL */
#define VN_PATH_MAX 108    /* unix socket paths (sun_path) */
#define VN_IFNAME_MAX 16   /* IFNAMSIZ */
#define VN_MAX_NETWORKS 64
#define VN_MAX_PORTS 1024

#define VN_DEFAULT_MTU 1500
#define VN_MIN_MTU 68
#define VN_MAX_MTU 65520
#define VN_DEFAULT_FDB_MAX 4096
#define VN_DEFAULT_FDB_AGING 300

enum vn_net_mode { VN_MODE_NAT = 0, VN_MODE_HOST_ONLY, VN_MODE_ISOLATED, VN_MODE_BRIDGE, VN_MODE__COUNT };
/* A port's type is its index in the port-type registry (conf/schema.h),
 * filled by the port backends (port/port.c); this is "not set". */
#define VN_PORT_TYPE_UNSET (-1)

/* Where a config item was defined, for error messages. */
struct vn_conf_src {
    const char *file; /* NULL = command line */
    int line;
};

#define VN_PORT_MAC_LIMIT_MAX 256
#define VN_SEC_MAX 16   /* MACs / IPs a port's security config can list */
#define VN_MAX_DHCP_HOSTS 64
#define VN_MAX_FORWARDS 32
#define VN_MAX_UPSTREAMS 4
#define VN_MAX_LOOPBACK_PORTS 32 /* map_host_loopback.ports ranges */
#define VN_DOMAIN_MAX 64

/* A host address as given in the config: IPv4 or IPv6 plus a port. */
struct vn_sockaddr {
    struct vn_addr ip;        /* family AF_INET or AF_INET6; 0 = unset */
    uint16_t port;            /* host byte order */
};

/* A static DHCP reservation (dhcp.hosts). */
struct vn_dhcp_host {
    struct vn_conf_src src;
    uint8_t mac[6];
    bool has_mac;
    uint32_t ip;              /* host byte order; 0 = none (name only) */
    char name[64];
};

/* A DHCPv6 reservation (dhcp6.hosts): a client known by MAC or DUID gets
 * ip (and name, for DNS). */
#define VN_DUID_MAX 130           /* RFC 8415: at most 128 bytes of DUID + its 2-byte type */
#define VN_DUID_MIN 3             /* a type code and at least one byte (what the server accepts) */
struct vn_dhcp6_host {
    struct vn_conf_src src;
    uint8_t mac[6];
    bool has_mac;
    uint8_t duid[VN_DUID_MAX];
    uint8_t duid_len;         /* 0 = match by MAC */
    struct vn_addr ip;        /* AF_INET6; family 0 = none (name only) */
    char name[64];
};

enum vn_dhcp6_mode { VN_DHCP6_STATELESS = 0, VN_DHCP6_STATEFUL, VN_DHCP6_OFF };

/* A port forward: host listener -> guest address (forwards). */
struct vn_forward_conf {
    struct vn_conf_src src;
    int proto;                /* IPPROTO_TCP or IPPROTO_UDP; 0 = unset */
    struct vn_sockaddr host;  /* where vnetd listens on the host */
    struct vn_addr guest;     /* IPv4 or IPv6; family 0 = the first DHCP address */
    uint16_t guest_port;
};

/* The VPN of a network (vpn/, issue 13): a WireGuard endpoint on its
 * gateway. Keys are read from their files at load (validate.c) and wiped
 * when the config is freed; peers is owned by the config. */
#define VN_VPN_MAX_ALLOWED 32         /* allowed_ips per peer */
#define VN_VPN_DEFAULT_PORT 51820     /* WireGuard's usual port */
#define VN_VPN_DEFAULT_MAX_PEERS 256
#define VN_VPN_MAX_PEERS 65536        /* highest vpn.max_peers */
#define VN_VPN_PATH_MAX 256           /* key file paths */
#define VN_WG_IFNAME_MAX 16           /* vpn.wg_interface, with its NUL (IFNAMSIZ) */
struct vn_vpn_prefix {
    struct vn_addr prefix;            /* host bits zero; family 0 = none */
    uint8_t len;
};
struct vn_vpn_peer_conf {
    struct vn_conf_src src;
    char name[VN_NAME_MAX];           /* "name:", default "peer1", "peer2"... (1-based index) */
    uint8_t public_key[32];
    bool has_public_key;              /* public_key given (required) */
    struct vn_conf_src key_src;       /* where public_key was given */
    uint8_t psk[32];                  /* from preshared_key_file (read at load) */
    bool has_psk;
    char psk_file[VN_VPN_PATH_MAX];   /* preshared_key_file, "" = none */
    struct vn_conf_src psk_src;
    struct vn_vpn_prefix allowed[VN_VPN_MAX_ALLOWED];
    unsigned nallowed;
    struct vn_conf_src allowed_src[VN_VPN_MAX_ALLOWED];
    struct vn_sockaddr endpoint;      /* family 0 = none (the peer connects to us) */
    uint16_t keepalive;               /* persistent_keepalive seconds, 0 = off */
};
struct vn_vpn_conf {
    struct vn_conf_src src;           /* where the vpn: block is */
    bool enabled;                     /* a vpn: block is present */
    struct vn_sockaddr listen;        /* UDP address; default 0.0.0.0:51820 */
    struct vn_conf_src listen_src;
    char private_key_file[VN_VPN_PATH_MAX];
    struct vn_conf_src key_src;       /* where private_key_file was given */
    uint8_t private_key[32];          /* read at load */
    uint8_t public_key[32];           /* derived from private_key at load */
    /* The gateway's tunnel-side addresses (vpn.address, one or a list of
     * two): prefix is the gateway's address itself (host bits as given),
     * len the tunnel subnet's length. family 0 = none. */
    struct vn_vpn_prefix address;     /* IPv4 */
    struct vn_vpn_prefix address6;    /* IPv6 */
    unsigned naddress;                /* how many of the two are given */
    struct vn_conf_src address_src;
    bool nat;                         /* vpn.nat: peers may use the network's NAT */
    uint32_t max_peers;               /* vpn.max_peers, also bounds run-time adds */
    /* vpn.wg_interface (conf/vpn_wg.c): serve WireGuard's configuration
     * protocol at /var/run/wireguard/NAME.sock (vpn/uapi_sock.c); "" = not */
    char wg_interface[VN_WG_IFNAME_MAX];
    struct vn_conf_src wg_src;
    struct vn_vpn_peer_conf *peers;   /* owned (freed with the config), npeers entries */
    unsigned npeers;
};

struct vn_net_conf {
    struct vn_conf_src src;
    char name[VN_NAME_MAX];
    enum vn_net_mode mode;
    uint16_t vlan;            /* 0 = untagged everywhere */
    uint32_t vni;             /* VXLAN network identifier on vxlan ports; 0 = none */
    uint32_t mtu;
    bool mtu_set;             /* given (else ports that bound it, vxlan, may lower or raise it) */
    uint32_t fdb_max;
    uint32_t fdb_aging;       /* seconds; 0 = never */

    /* IPv4 services of the gateway (host byte order; 0 = default/unset). */
    uint32_t subnet;          /* network address */
    uint8_t prefix;           /* 0 = unset */
    uint32_t gateway;
    bool dhcp;                /* serve DHCP (default on for nat and host-only) */
    bool dhcp_set;
    uint32_t dhcp_start, dhcp_end;
    uint32_t lease_time;      /* seconds */
    struct vn_dhcp_host hosts[VN_MAX_DHCP_HOSTS];
    unsigned nhosts;
    bool dns;                 /* serve DNS on dns_addr */
    bool dns_set;
    uint32_t dns_addr;
    char domain[VN_DOMAIN_MAX];
    struct vn_sockaddr upstream[VN_MAX_UPSTREAMS];
    unsigned nupstream;       /* 0 = the host's resolv.conf */
    uint32_t dns_cache;       /* answers kept by the DNS forwarder (0 = no cache) */
    bool map_host_loopback;   /* the gateway address reaches the host's 127.0.0.1 */
    uint16_t loopback_ports[VN_MAX_LOOPBACK_PORTS][2]; /* ... only these port ranges (none = all) */
    unsigned nloopback_ports;
    struct vn_forward_conf forwards[VN_MAX_FORWARDS];
    unsigned nforwards;
    uint32_t max_flows;       /* NAT flow table size */
    uint32_t max_flows_per_guest; /* flows one guest port (or one forward) may hold; 0 = a quarter */
    uint32_t forward_pending; /* inbound connections per forward waiting for the guest's SYN-ACK */
    uint32_t forward_syn_timeout; /* seconds a forwarded connection may wait for the guest */
    uint32_t udp_timeout;     /* idle seconds before a UDP flow is closed */
    uint32_t tcp_timeout;     /* idle seconds before an established TCP flow is closed */
    char uplink[VN_IFNAME_MAX]; /* bridge: host interface the network extends onto */
    char host_interface[VN_IFNAME_MAX]; /* host-only: the host's tap (default vnet-NAME) */
    struct vn_acl acl;        /* network ACL rules (fw/acl.h); rules array owned here */
    bool acl_default_drop;    /* policy when no rule matches */

    /* IPv6 services of the gateway (struct vn_addr: AF_INET6, network byte
     * order; family 0 = unset). Filled by validation: subnet6 defaults to a
     * ULA /64 derived from the network name where the network has a
     * gateway (nat, host-only, isolated with a subnet). */
    bool ipv6;                /* serve IPv6 (NDP, RA, DHCPv6, DNS, NAT); false: frames still switch */
    bool ipv6_set;
    struct vn_addr subnet6;   /* the /64 prefix, host bits zero */
    struct vn_addr gateway6;  /* default PREFIX::2 (nat), PREFIX::1 (host-only: the host's tap) */
    struct vn_addr dns_addr6; /* default PREFIX::3 (nat), else the gateway port's own address */
    bool ra;                  /* ra.enabled: send router advertisements (not on isolated) */
    bool ra_set;
    uint32_t ra_interval;     /* ra.interval: seconds between unsolicited RAs (jittered) */
    uint32_t ra_lifetime;     /* ra.lifetime: router lifetime in seconds (0 = not a default router) */
    bool ra_lifetime_set;     /* given (else host-only networks get 0: the host does not route) */
    enum vn_dhcp6_mode dhcp6_mode; /* dhcp6.mode */
    struct vn_addr dhcp6_start, dhcp6_end; /* dhcp6.range (stateful) */
    uint32_t dhcp6_lease_time; /* dhcp6.lease_time: seconds (default: lease_time) */
    bool dhcp6_lease_time_set;
    struct vn_dhcp6_host hosts6[VN_MAX_DHCP_HOSTS]; /* dhcp6.hosts */
    unsigned nhosts6;

    /* IPv6-only networks and NAT64/DNS64 (nat networks). */
    bool ipv4_none;           /* subnet: none: no IPv4 service at all (no DHCPv4, IPv4 ignored) */
    bool nat64;               /* guests reach IPv4 through nat64_prefix; DNS64 synthesizes AAAA */
    struct vn_addr nat64_prefix; /* nat64.prefix (RFC 6052), default 64:ff9b::/96 */
    uint8_t nat64_prefix_len; /* 32, 40, 48, 56, 64 or 96 */

    struct vn_vpn_conf vpn;   /* vpn: (struct above; peers owned) */
};

/* The keys of a vxlan port (port/vxlan_conf.c; its networks are in the
 * port's trunk list, given as 'networks'). */
#define VN_VXLAN_UDP_PORT 4789        /* IANA's VXLAN port (RFC 7348) */
#define VN_VXLAN_MAX_REMOTES 64
enum vn_vxlan_accept { VN_VXLAN_ACCEPT_LISTED = 0, VN_VXLAN_ACCEPT_ANY };
struct vn_vxlan_conf {
    struct vn_sockaddr local;         /* the UDP socket's address and port; family 0 = unset */
    struct vn_sockaddr remotes[VN_VXLAN_MAX_REMOTES]; /* the static flood list */
    unsigned nremotes;
    bool learning, learning_set;      /* learn inner source MACs from received frames */
    int accept;                       /* enum vn_vxlan_accept */
    bool accept_set;
    uint32_t ageing;                  /* seconds before a learned remote MAC is forgotten (0 = never) */
    bool ageing_set;
    uint32_t max_macs;                /* remote MAC table size */
    bool max_macs_set;
    uint32_t max_macs_per_vtep;       /* one VTEP's share of it; 0 = a quarter */
    bool max_macs_per_vtep_set;
    bool networks_given;              /* 'networks' was used (the list is in trunk) */
    uint32_t underlay_mtu;            /* filled by validation: MTU of local's interface, or 1500 */
};

/* The keys of a vhost-user port beside path (port/vhost_user.c). */
enum vn_vhost_mode { VN_VHOST_MODE_SERVER = 0, VN_VHOST_MODE_CLIENT };
struct vn_vhost_conf {
    int mode;                             /* enum vn_vhost_mode: who listens on path */
    bool mode_set;
};

struct vn_port_conf {
    struct vn_conf_src src;
    char name[VN_NAME_MAX];
    int type;                             /* port-type registry index, VN_PORT_TYPE_UNSET */
    char network[VN_NAME_MAX];            /* access network ("" on a trunk) */
    char trunk[VN_MAX_NETWORKS][VN_NAME_MAX];
    unsigned ntrunk;
    char native[VN_NAME_MAX];             /* untagged network of a trunk, "" = none */
    char path[VN_PATH_MAX];               /* stream, dgram */
    char netns[256];                      /* tap: /run/netns/NAME or any netns file */
    char ifname[VN_IFNAME_MAX];           /* tap */
    uint8_t mac[6];                       /* tap: MAC of the interface */
    bool has_mac;
    uint32_t mtu;                         /* tap: 0 = the network's MTU */
    int tap_fd;                           /* internal (vnetd run): an open tap, or -1 */
    /* Descriptors handed over by a control client (never from a file):
     * sock_fd belongs to the port once it opened (else it stays the
     * caller's); netns_fd always stays the caller's. */
    int sock_fd;                          /* stream/dgram: a bound (listening) socket, or -1 */
    int netns_fd;                         /* tap: the namespace to create it in, or -1 */
    bool keep_path;                       /* stream/dgram: path is the client's: never unlinked */
    bool tap_excl;                        /* tap: never attach to an existing device */
    bool implicit;                        /* made by validation (network 'uplink'), not printed */
    uint32_t host_addr;                   /* tap (host-only): IPv4 address to assign, 0 = none */
    uint8_t host_prefix;
    struct vn_addr host_addr6;            /* tap (host-only): IPv6 address to assign (/64), family 0 = none */
    uint32_t storm_bcast;                 /* broadcast frames/s accepted from the port; 0 = no limit */
    uint32_t storm_mcast;                 /* multicast frames/s accepted from the port; 0 = no limit */
    /* port security */
    uint8_t sec_macs[VN_SEC_MAX][6];      /* allowed source MACs (none listed = any) */
    unsigned nsec_macs;
    struct vn_addr sec_ips[VN_SEC_MAX];   /* allowed source addresses (IPv4, IPv6) */
    unsigned nsec_ips;
    bool ip_binding;                      /* sources limited to sec_ips + the port's DHCP leases */
    uint32_t max_macs;                    /* distinct source MACs accepted; 0 = no limit */
    bool trusted;                         /* may send DHCP server messages and RAs */
    /* rate limits (0 = none): bits/s, packets/s, burst bytes */
    uint64_t rate_in_bps, rate_in_pps, rate_in_burst;
    uint64_t rate_out_bps, rate_out_pps, rate_out_burst;
    struct vn_acl acl;                    /* port ACL rules; rules array owned here */
    struct vn_vxlan_conf vxlan;           /* type vxlan */
    struct vn_vhost_conf vhost;           /* type vhost-user */
};

/* EVPN (evpn/evpn.h): the mirror of a vxlan port's VNIs for FRR. */
#define VN_EVPN_KERNEL_PORT 4788
struct vn_evpn_conf {
    struct vn_conf_src src;               /* where evpn.port was given */
    char port[VN_NAME_MAX];               /* the vxlan port; "" = EVPN off */
    uint16_t kernel_port;                 /* UDP port of the mirror vxlan devices */
    uint32_t ageing;                      /* seconds: the mirror bridges' ageing */
    bool create;                          /* make the devices (else they must exist) */
};

#define VN_MAX_CONF_MIRRORS 16

/* A mirror session from config (switch/mirror.h). */
struct vn_mirror_conf {
    struct vn_conf_src src;
    char name[VN_NAME_MAX];
    char from[16][VN_NAME_MAX];
    unsigned nfrom;
    char to[VN_NAME_MAX];
    unsigned dir;                         /* 1 in, 2 out, 3 both */
};

struct vn_config {
    char control[VN_PATH_MAX];
    uint32_t control_mode;                /* permission bits of the control socket */
    char control_group[64];               /* group whose members may use it, "" = none */
    int64_t control_gid;                  /* resolved control_group, -1 = none */
    char pidfile[256];
    char state_dir[256];
    int log_level;                        /* -1 = not set */
    char metrics[128];                    /* Prometheus endpoint ADDR:PORT, "" = off */
    uint32_t conntrack_max;               /* connection tracking table size (ACL state) */
    uint32_t busy_poll_us;                /* event loop busy-poll window, 0 = off (core/loop.h) */
    uint32_t workers;                     /* data path threads, 0 = not set: online CPUs, at most 8 */
    bool sandbox;                         /* drop capabilities + seccomp after setup */
    struct vn_net_conf nets[VN_MAX_NETWORKS];
    unsigned nnets;
    struct vn_port_conf *ports;           /* VN_MAX_PORTS entries */
    unsigned nports;
    struct vn_mirror_conf mirrors[VN_MAX_CONF_MIRRORS];
    unsigned nmirrors;
    struct vn_evpn_conf evpn;
    char *source;                         /* file the model was loaded from, or NULL */
};

/* An error message buffer filled by the loaders: "FILE:LINE: what is wrong". */
struct vn_conf_err {
    char msg[512];
};

struct vn_config *vn_conf_new(void);
void vn_conf_free(struct vn_config *c);
/* Free a network's VPN peers and wipe its keys (vn_conf_free does it for
 * every network; a copy of a vn_net_conf must clear vpn.peers or own it). */
void vn_conf_vpn_free(struct vn_vpn_conf *v);
/* Check peer p (its keys and preshared key already read, name filled)
 * against network n's VPN (n validated) and the other peers others[0..n)
 * (p not among them): its public key is not our own nor another peer's,
 * its name is unique, its allowed_ips are not the network's subnets nor
 * another peer's prefixes. For the config and for run-time adds.
 * Returns 0 or -1 with err naming p's source. */
int vn_conf_vpn_check_peer(const struct vn_net_conf *n, const struct vn_vpn_peer_conf *p,
                           const struct vn_vpn_peer_conf *others, unsigned nothers,
                           struct vn_conf_err *err);

/* Add an item with defaults; returns it, or NULL (message in err) if the table is full. */
struct vn_net_conf *vn_conf_add_net(struct vn_config *c, struct vn_conf_src src,
                                    struct vn_conf_err *err);
struct vn_port_conf *vn_conf_add_port(struct vn_config *c, struct vn_conf_src src,
                                      struct vn_conf_err *err);

/* Set one documented key from its text value; src is where the value was
 * written. Nested keys use dots ("dhcp.range"). For list keys (trunk) the value
 * is one element and the call appends. Lists of mappings (dhcp.hosts,
 * forwards, acl rules) cannot be set this way: the YAML loader fills their
 * entries through the schema (schema.h). Returns 0, or -1 with a message
 * that names the source and the key. */
int vn_conf_net_set(struct vn_net_conf *n, const char *key, const char *val,
                    struct vn_conf_src src, struct vn_conf_err *err);
int vn_conf_port_set(struct vn_port_conf *p, const char *key, const char *val,
                     struct vn_conf_src src, struct vn_conf_err *err);
struct vn_mirror_conf *vn_conf_add_mirror(struct vn_config *c, struct vn_conf_src src,
                                          struct vn_conf_err *err);
int vn_conf_mirror_set(struct vn_mirror_conf *m, const char *key, const char *val,
                       struct vn_conf_src src, struct vn_conf_err *err);

/* Global keys: control, control_mode, pid, state_dir, log, metrics. */
int vn_conf_global_set(struct vn_config *c, const char *key, const char *val,
                       struct vn_conf_src src, struct vn_conf_err *err);

/* Check references and conflicts, fill defaults that depend on other items.
 * Returns 0, or -1 with a message naming the offending item. */
int vn_conf_validate(struct vn_config *c, struct vn_conf_err *err);

/* Validate one port against c's networks and fill its defaults (used by
 * vn_conf_validate and by run-time "port add"). Returns 0 or -1 with err. */
int vn_conf_validate_port(struct vn_config *c, struct vn_port_conf *p, struct vn_conf_err *err);

/* When neither a file nor any network/port flag was given: the default model. */
int vn_conf_apply_defaults(struct vn_config *c, struct vn_conf_err *err);

/* Load a YAML file into c (yaml.c); returns 0 or -1 with err set. */
int vn_conf_load_yaml(struct vn_config *c, const char *path, struct vn_conf_err *err);
/* Load YAML from memory (tests, fuzzing); name is used in messages. */
int vn_conf_load_yaml_string(struct vn_config *c, const char *name, const char *text, size_t len,
                             struct vn_conf_err *err);

/* Print the effective model as YAML that vn_conf_load_yaml() accepts (print.c). */
void vn_conf_print(const struct vn_config *c, FILE *out);

/* Parse "PROTO:HOSTPORT[:GUESTIP]:GUESTPORT" or
 * "PROTO:HOSTADDR:HOSTPORT[:GUESTIP]:GUESTPORT" (the --forward flag and
 * vnetctl forward add; IPv6 addresses in brackets: "tcp:[::1]:8080:[fd00::15]:80")
 * into f. Returns 0 or -1 with err. */
int vn_conf_parse_forward(const char *spec, struct vn_forward_conf *f, struct vn_conf_src src,
                          struct vn_conf_err *err);
/* Parse "ADDR:PORT", "[V6ADDR]:PORT" or "ADDR" (port defaults to defport). Returns 0 or -1. */
int vn_sockaddr_parse(const char *s, uint16_t defport, struct vn_sockaddr *out);
/* Format as "1.2.3.4:53" or "[::1]:53" into buf; returns buf. */
char *vn_sockaddr_str(const struct vn_sockaddr *a, char *buf, size_t n);

/* Parse "100M", "1.5G", "64k", "1000" into *out; returns 0 or -1. */
int vn_parse_rate(const char *s, uint64_t *out);

/* Whether the network has a gateway port (nat, host-only, or isolated with a subnet). */
bool vn_net_has_gateway(const struct vn_net_conf *n);
/* Whether its gateway runs a NAT engine (nat networks: NAT; other networks
 * with DNS: DNS over TCP only), which holds one host socket per flow. */
bool vn_net_has_nat_engine(const struct vn_net_conf *n);

/* Name tables. */
const char *vn_net_mode_name(enum vn_net_mode m);
/* The name of port type t ("?" when no such type is registered). */
const char *vn_port_type_name(int t);
/* Find by name; NULL if absent. */
struct vn_net_conf *vn_conf_find_net(struct vn_config *c, const char *name);
int vn_conf_net_index(const struct vn_config *c, const char *name);

/* Format "FILE:LINE: " / "command line: " for src into buf. */
const char *vn_conf_where(struct vn_conf_src src, char *buf, size_t n);
/* printf into err prefixed by where src is. Returns -1 for convenience. */
int vn_conf_fail(struct vn_conf_err *err, struct vn_conf_src src, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
