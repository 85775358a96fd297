/* Keyed hashing for tables whose keys a guest chooses (MACs, flow tuples).
 * SipHash-1-3 (Aumasson & Bernstein) with a per-process random key, so a guest
 * cannot precompute colliding keys to degrade a table. */
#ifndef VN_CORE_HASH_H
#define VN_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Initialise the process-wide key (called once at start; idempotent). */
void vn_hash_init(void);
/* Hash len bytes of data with the process key. */
uint64_t vn_hash(const void *data, size_t len);
/* Hash one 64-bit word (fast path for MAC keys). */
uint64_t vn_hash_u64(uint64_t v);

#endif
