/* The daemon's own ports: see ownports.h. A small fixed table; lookups are
 * only made when a guest opens a flow to the host's loopback. */
#include "ownports.h"

#include <stddef.h>

enum { OWN_MAX = 512 };

static struct own {
    uint8_t proto;
    uint16_t port;
    int net;
    unsigned refs;
} own[OWN_MAX];

int vn_own_port_add(uint8_t proto, uint16_t port, int net)
{
    struct own *free_slot = NULL;
    for (int i = 0; i < OWN_MAX; i++) {
        struct own *o = &own[i];
        if (o->refs && o->proto == proto && o->port == port && o->net == net) {
            o->refs++;
            return 0;
        }
        if (!o->refs && !free_slot)
            free_slot = o;
    }
    if (!free_slot)
        return -1;
    *free_slot = (struct own){ proto, port, net, 1 };
    return 0;
}

void vn_own_port_del(uint8_t proto, uint16_t port, int net)
{
    for (int i = 0; i < OWN_MAX; i++)
        if (own[i].refs && own[i].proto == proto && own[i].port == port && own[i].net == net) {
            own[i].refs--;
            return;
        }
}

bool vn_own_port(uint8_t proto, uint16_t port, int net)
{
    for (int i = 0; i < OWN_MAX; i++)
        if (own[i].refs && own[i].proto == proto && own[i].port == port &&
            (own[i].net == VN_OWN_ALL_NETWORKS || own[i].net == net))
            return true;
    return false;
}
