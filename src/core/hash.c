/* SipHash-1-3 over byte strings, written from the published algorithm. */
#include "hash.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

static uint64_t k0, k1;
static atomic_bool keyed;  /* set (release) once k0, k1 are */
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void make_key(void)
{
    uint64_t k[2];
    vn_random_bytes(k, sizeof k);
    k0 = k[0];
    k1 = k[1];
    atomic_store_explicit(&keyed, true, memory_order_release);
}

/* Once per process, whichever thread asks first (the daemon asks before
 * its workers start; the check in vn_hash() is an acquire load). */
void vn_hash_init(void) { pthread_once(&key_once, make_key); }

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                                  \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                     \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                     \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                                  \
    } while (0)

uint64_t vn_hash(const void *data, size_t len)
{
    if (!atomic_load_explicit(&keyed, memory_order_acquire))
        vn_hash_init();
    const uint8_t *p = data;
    uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
    size_t left = len;
    while (left >= 8) {
        uint64_t m;
        memcpy(&m, p, 8);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
        p += 8;
        left -= 8;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < left; i++)
        b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t vn_hash_u64(uint64_t v) { return vn_hash(&v, sizeof v); }
