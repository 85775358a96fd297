/* The config schema: one table row per documented key.
 *
 * A row says what a key is called (dotted, as documented: "dhcp.range"),
 * what its value is (type, limits, or a custom parser), its shape (a single
 * value, a list of values, or a list of mappings with a table of its own),
 * where it lives in the model (offsetof into the item's struct, plus the
 * offset of a "was given" flag where the model records presence), its
 * default (as text the parser takes, applied when an item is created), how
 * it is printed and one line of help. The YAML loader (yaml.c), the
 * command-line specs (flags.c), the setters (vn_conf_net_set & co.),
 * --print-config (print.c) and the check of docs/vnetd.conf.md
 * (tests/unit/test_config.c) all read these tables.
 *
 * Tables: global (struct vn_config), network (vn_net_conf), port
 * (vn_port_conf: the keys every port takes; the keys of one port type are in
 * its struct vn_conf_port_type), mirror (vn_mirror_conf), and the entries
 * of lists of mappings: forward (vn_forward_conf), dhcp host (vn_dhcp_host),
 * dhcp6 host (vn_dhcp6_host), ACL rule (struct vn_acl_rule, fields parsed
 * by fw/acl.c). */
#ifndef VN_CONF_SCHEMA_H
#define VN_CONF_SCHEMA_H

#include "config.h"

enum vn_conf_vtype {
    VN_CT_BOOL,     /* bool */
    VN_CT_U32,      /* uint32_t, lo..hi */
    VN_CT_U16,      /* uint16_t, lo..hi */
    VN_CT_RATE,     /* uint64_t, vn_parse_rate() */
    VN_CT_STR,      /* char[size], not empty */
    VN_CT_NAME,     /* char[VN_NAME_MAX], a network/port/mirror name (what) */
    VN_CT_IFNAME,   /* char[size], an interface name */
    VN_CT_IP4,      /* uint32_t, host byte order */
    VN_CT_ADDR,     /* struct vn_addr: an IPv4 or IPv6 address */
    VN_CT_MAC,      /* uint8_t[6], unicast */
    VN_CT_SOCKADDR, /* struct vn_sockaddr, port defport when not given */
    VN_CT_ENUM,     /* int (size 4) or bool (size 1), one of names[] */
    VN_CT_OCTAL,    /* uint32_t permission bits, at most 0777 */
    VN_CT_CUSTOM,   /* parse() and print() */
};

enum vn_conf_shape {
    VN_CS_SCALAR,  /* one value */
    VN_CS_LIST,    /* a list of values of the row's type, appended one by one */
    VN_CS_MAPLIST, /* a list of mappings, each an entry with the keys of sub */
};

/* Flags of a row. */
#define VN_KF_ALWAYS   0x01u /* printed even when zero or empty */
#define VN_KF_GW       0x02u /* printed only when the network has gateway services */
#define VN_KF_NAT      0x04u /* printed only on nat networks */
#define VN_KF_NOPRINT  0x08u /* never printed (another row prints the value) */
#define VN_KF_NODOC    0x10u /* not in the key tables of the docs (a command-line form) */
#define VN_KF_REQUIRED 0x20u /* documented default "required" */
#define VN_KF_QUOTE    0x40u /* printed as a double-quoted YAML string */
#define VN_KF_BLOCK    0x80u /* list of mappings printed in block style (top level) */

struct vn_conf_enum {
    const char *name;
    int value;
};

struct vn_conf_key;
struct vn_conf_table;

/* Parse val into dst (item + off, or the list element being appended);
 * key is the dotted key for messages. */
typedef int (*vn_conf_parse_fn)(const struct vn_conf_key *k, void *item, void *dst,
                                const char *key, const char *val, struct vn_conf_src src,
                                struct vn_conf_err *err);
/* Print the value at dst (a scalar, or one list element) as YAML. */
typedef void (*vn_conf_print_fn)(const struct vn_conf_key *k, const void *item, const void *dst,
                                 FILE *o);

/* Access to the entries of a list of mappings that are not a plain array
 * at off with an unsigned count at count_off (ACL rules, the top level). */
struct vn_conf_entries {
    void *(*add)(const struct vn_conf_key *k, void *item, struct vn_conf_src src,
                 struct vn_conf_err *err);
    unsigned (*count)(const struct vn_conf_key *k, const void *item);
    const void *(*at)(const struct vn_conf_key *k, const void *item, unsigned i);
    bool (*hidden)(const void *entry);                /* not printed (implicit ports) */
    void (*print_entry)(const void *entry, FILE *o);  /* one flow mapping, or NULL */
};

struct vn_conf_key {
    const char *name;          /* dotted, relative to the table */
    enum vn_conf_vtype type;   /* of the value, or of each list element */
    enum vn_conf_shape shape;
    size_t off;                /* of the field (or of the list's first element) */
    size_t size;               /* of the field, or of one list element */
    size_t set_off;            /* of a bool set when the key is given; 0 = none */
    size_t count_off;          /* lists: of the unsigned element count */
    unsigned max;              /* lists: most elements */
    uint64_t lo, hi;           /* U32/U16 bounds */
    const struct vn_conf_enum *names; /* ENUM */
    unsigned nnames;
    const char *what;          /* NAME: "network", "port", "mirror" */
    uint16_t defport;          /* SOCKADDR */
    const char *bad;           /* format (key, value) when the value does not parse */
    const char *full;          /* lists: format (key, max) when full */
    vn_conf_parse_fn parse;    /* CUSTOM; or a check after the type's parse (lists) */
    vn_conf_print_fn print;    /* CUSTOM */
    bool (*show)(const void *item); /* printed only when this says so */
    const char *alias;         /* short for that key of the same table ("dhcp") */
    const struct vn_conf_table *sub;        /* MAPLIST: the entries' keys */
    const struct vn_conf_entries *entries;  /* MAPLIST: NULL = plain array */
    const char *def;           /* default as text, applied when the item is made */
    unsigned flags;            /* VN_KF_* */
    const char *doc_type;      /* the docs' type column must mention this (NULL: derived) */
    const char *help;          /* one line */
};

struct vn_conf_table {
    const char *scope;         /* "network", "port", ... */
    const struct vn_conf_key *keys;
    unsigned nkeys;
    const char *unknown;       /* format (key) for a key that is not in the table */
    /* More keys beyond keys[] (the port types' keys), or NULL. */
    const struct vn_conf_key *(*more)(const char *key);
    /* Keys that apply to this item beyond keys[] (printing), or NULL. */
    const struct vn_conf_key *(*item_keys)(const void *item, unsigned *n);
    /* Any key not in the table goes here (ACL rule fields), or NULL. */
    int (*fallback)(void *item, const char *rel, const char *key, const char *val,
                    struct vn_conf_src src, struct vn_conf_err *err);
    /* VN_KF_GW / VN_KF_NAT that hold for item (printing), or NULL = none. */
    unsigned (*context)(const void *item);
};

extern const struct vn_conf_table vn_conf_global_table;
extern const struct vn_conf_table vn_conf_net_table;
extern const struct vn_conf_table vn_conf_port_table;
extern const struct vn_conf_table vn_conf_mirror_table;
extern const struct vn_conf_table vn_conf_forward_table;
extern const struct vn_conf_table vn_conf_dhcp_host_table;
extern const struct vn_conf_table vn_conf_dhcp6_host_table;
extern const struct vn_conf_table vn_conf_acl_rule_table;

/* The row of key in t (an alias resolves to its target), or NULL. */
const struct vn_conf_key *vn_conf_key_find(const struct vn_conf_table *t, const char *key);
/* Set a scalar row, or append one element to a list row, from text. */
int vn_conf_key_set(const struct vn_conf_key *k, void *item, const char *key, const char *val,
                    struct vn_conf_src src, struct vn_conf_err *err);
/* Look key up in t and set it (rel: the key in t; key: the dotted key for
 * messages). Lists of mappings cannot be set this way (an error). */
int vn_conf_table_set(const struct vn_conf_table *t, void *item, const char *rel,
                      const char *key, const char *val, struct vn_conf_src src,
                      struct vn_conf_err *err);
/* Lists of mappings: start a new entry (defaults of k->sub applied), count, get. */
void *vn_conf_entry_add(const struct vn_conf_key *k, void *item, struct vn_conf_src src,
                        struct vn_conf_err *err);
unsigned vn_conf_entry_count(const struct vn_conf_key *k, const void *item);
const void *vn_conf_entry_at(const struct vn_conf_key *k, const void *item, unsigned i);
/* Whether the item holds a value for k (its flag, a count, or a non-zero field). */
bool vn_conf_key_is_set(const struct vn_conf_key *k, const void *item);
/* Apply the def of every row of t (and rows[0..n)) to a fresh item. */
void vn_conf_table_defaults(const struct vn_conf_table *t, void *item);
void vn_conf_keys_defaults(const struct vn_conf_key *rows, unsigned n, void *item);

/* Print s as a YAML double-quoted scalar (print.c). */
void vn_conf_print_qstr(FILE *o, const char *s);

/* Port types: what a backend adds to the port keys.
 *
 * Each type names its own keys (rows over struct vn_port_conf) and checks a
 * port of its type after the common checks. A key of another type given on
 * a port of this type is refused, naming the key, the types it belongs to
 * and foreign (what this type takes instead: "it takes ..."). Each port backend (src/port/) defines its type beside its code and
 * port/port.c registers them all when the program starts, so a port's type
 * is its index here. The fields after validate say what the control
 * socket lets a client that is not root do with a port of the type. */
enum vn_port_access {
    VN_PORT_ACCESS_ROOT = 0,   /* root only (host interfaces) */
    VN_PORT_ACCESS_SOCKET,     /* a socket path in the run directory, or one the client bound */
    VN_PORT_ACCESS_NETNS,      /* a new interface, in a namespace the client owns */
};

struct vn_conf_port_type {
    const char *name;
    const struct vn_conf_key *keys;
    unsigned nkeys;
    const char *foreign;
    int (*validate)(struct vn_config *c, struct vn_port_conf *p, struct vn_conf_err *err);
    enum vn_port_access access;
    int sock_type;             /* SOCK_STREAM / SOCK_DGRAM: a client may pass the socket; 0 = no */
    bool creates_ifname;       /* makes interface ifname: two ports may not make the same one */
    /* Its backend tells the networks of received frames apart itself (vxlan:
     * by VNI, port/provider.h): its ports list their networks without VLAN
     * ids (in trunk), frames cross them untagged, and 'native' does not apply. */
    bool classifies;
    /* The MTU its port p offers the networks it carries (vxlan: the
     * underlay's minus the encapsulation); a network that sets no mtu gets
     * the smallest such bound of its ports. 0 = no bound. Called after the
     * type's validate. */
    uint32_t (*net_mtu)(const struct vn_port_conf *p);
};

/* Add a type; returns its index (the value of vn_port_conf.type), or -1 if
 * the registry is full or the name is taken. t must outlive the process. */
int vn_conf_port_type_register(const struct vn_conf_port_type *t);
/* The type with index i, or NULL. */
const struct vn_conf_port_type *vn_conf_port_type_get(unsigned i);
unsigned vn_conf_port_type_count(void);
/* Index of the type called name, or -1. */
int vn_conf_port_type_find(const char *name);
/* Check p's per-type keys against its type, then run the type's validate. */
int vn_conf_port_type_validate(struct vn_config *c, struct vn_port_conf *p,
                               struct vn_conf_err *err);

#endif
