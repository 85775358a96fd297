/* AllowedIPs: the table that maps IPv4 and IPv6 prefixes to WireGuard
 * peers, read both ways: which peer a packet to an address goes to (the
 * longest prefix holding it), and whether a packet a peer decrypted came
 * from an address that peer may use.
 *
 * Theory of operation. One path-compressed binary trie per family. A node
 * is a prefix (key/bits, host bits zero); its children are longer prefixes
 * inside it, child[b] those whose bit number `bits` is b. A node either
 * belongs to a peer or is a branch point without one (kept only while it
 * has two children), so n prefixes take at most 2n - 1 nodes. Inserting
 * walks down to where the new prefix belongs and adds at most a leaf and
 * a branch point; a lookup walks down while the address stays inside the
 * nodes and remembers the last one with a peer. Nodes come from one pool
 * allocated up front (bounded by the configured maximum number of
 * prefixes); a node's index in it is stable, which lets removal and
 * iteration scan the pool. As in WireGuard, a prefix belongs to one peer:
 * inserting it for another moves it. */
#ifndef VN_VPN_ALLOWED_H
#define VN_VPN_ALLOWED_H

#include "pkt/addr.h"

#include <stdbool.h>
#include <stdint.h>

#define VN_ALLOWED_NONE 0xffffu /* no peer (not a valid peer id) */
#define VN_ALLOWED_NIL UINT32_MAX

struct vn_allowed_node {
    uint8_t key[16];   /* the prefix, host bits zero; IPv4 in key[0..3] */
    uint8_t bits;      /* its length */
    uint8_t family;    /* AF_INET, AF_INET6; 0: free (listed via child[0]) */
    uint16_t peer;     /* VN_ALLOWED_NONE for a branch point */
    uint32_t parent;   /* VN_ALLOWED_NIL for a root */
    uint32_t child[2];
};

struct vn_allowed {
    struct vn_allowed_node *nodes;
    uint32_t cap;       /* nodes in the pool: 2 * max */
    uint32_t max;       /* prefixes at most */
    uint32_t count;     /* prefixes now (nodes with a peer) */
    uint32_t free_head;
    uint32_t root[2];   /* [0] IPv4, [1] IPv6 */
};

/* Set up an empty table for at most max prefixes (both families together,
 * max >= 1). Returns 0, or -1 when out of memory. */
int vn_allowed_init(struct vn_allowed *t, uint32_t max);
void vn_allowed_free(struct vn_allowed *t);

/* Give prefix p/len (host bits ignored) to peer. A prefix already in the
 * table moves to peer. Returns 0; -1 when the table is full (nothing
 * changed); -2 for a bad family, a length past the family's bits or
 * peer VN_ALLOWED_NONE. */
int vn_allowed_insert(struct vn_allowed *t, const struct vn_addr *p, unsigned len, uint16_t peer);

/* Remove prefix p/len. Returns the peer it belonged to, or -1 when absent. */
int vn_allowed_remove(struct vn_allowed *t, const struct vn_addr *p, unsigned len);

/* Remove every prefix of peer. Returns how many. */
unsigned vn_allowed_remove_peer(struct vn_allowed *t, uint16_t peer);

/* The peer whose longest prefix holds address a, or -1 when none. */
int vn_allowed_lookup(const struct vn_allowed *t, const struct vn_addr *a);

/* The peer that holds exactly the prefix p/len (host bits ignored), or -1. */
int vn_allowed_owner(const struct vn_allowed *t, const struct vn_addr *p, unsigned len);

/* Iterate the prefixes of peer: start with *cursor = 0; each call fills
 * *p and *len and returns true, false at the end. The table must not
 * change between calls. Order: unspecified. */
bool vn_allowed_next(const struct vn_allowed *t, uint16_t peer, uint32_t *cursor,
                     struct vn_addr *p, unsigned *len);

#endif
