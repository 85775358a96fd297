/* Test-only control commands: debug.clock.advance, and the test clock it
 * moves (vnetd --test-clock).
 *
 * Theory of operation. Protocol timers (the VPN's rekey and reject times,
 * NAT flow timeouts) are minutes long; a functional test cannot wait for
 * them. With --test-clock the daemon's event loop reads its time from
 * CLOCK_MONOTONIC plus an offset that only grows: debug.clock.advance MS
 * adds MS milliseconds, so every timer due before the new time fires in
 * the next round of the loop and every module that compares times with
 * the loop's clock (vn_loop_now_ms: the VPN, NAT flows, router
 * advertisements, the gateway's ICMP rate limit) sees that much time gone
 * by. What runs on other clocks is not moved: DHCP leases and handshake
 * timestamps (the wall clock), fdb ageing, the DNS cache, control clients
 * (raw CLOCK_MONOTONIC). Without the flag the loop keeps its plain clock
 * and the command is refused; it is for tests only, never for production. */
#ifndef VN_CTL_DEBUG_CMDS_H
#define VN_CTL_DEBUG_CMDS_H

#include "ctl.h"

#include <stdbool.h>
#include <stdint.h>

/* At most this much per debug.clock.advance (one day). */
#define VN_TEST_CLOCK_MAX_STEP_MS 86400000u

/* Install the test clock on loop (offset 0: the same time as before, so
 * timers armed already keep their due times). */
void vn_test_clock_install(struct vn_loop *loop);
/* Whether the test clock is installed, and its offset in ms. */
bool vn_test_clock_on(void);
uint64_t vn_test_clock_offset_ms(void);

/* Register "debug.clock.advance" (refused unless the test clock is on). */
void vn_debug_cmds_register(struct vn_ctl *ctl);

#endif
