/* The stop-the-world gate: see gate.h for the theory of operation. */
#include "gate.h"
#include "loop.h"

int vn_gate_init(struct vn_gate *g, struct vn_loop **loops, unsigned n)
{
    if (pthread_mutex_init(&g->mu, NULL))
        return -1;
    if (pthread_cond_init(&g->cv, NULL)) {
        pthread_mutex_destroy(&g->mu);
        return -1;
    }
    atomic_init(&g->want, false);
    g->parked = 0;
    g->nloops = n;
    g->loops = loops;
    g->stops = 0;
    return 0;
}

void vn_gate_destroy(struct vn_gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

void vn_gate_stop(struct vn_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->stops++;
    atomic_store(&g->want, true);
    pthread_mutex_unlock(&g->mu);
    for (unsigned i = 0; i < g->nloops; i++)
        vn_loop_wake(g->loops[i]);
    pthread_mutex_lock(&g->mu);
    while (g->parked < g->nloops)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

void vn_gate_go(struct vn_gate *g)
{
    pthread_mutex_lock(&g->mu);
    atomic_store(&g->want, false);
    pthread_cond_broadcast(&g->cv);
    while (g->parked)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

void vn_gate_safe_point(struct vn_gate *g)
{
    if (!atomic_load_explicit(&g->want, memory_order_relaxed))
        return;
    pthread_mutex_lock(&g->mu);
    if (atomic_load(&g->want)) {
        g->parked++;
        pthread_cond_broadcast(&g->cv);
        while (atomic_load(&g->want))
            pthread_cond_wait(&g->cv, &g->mu);
        g->parked--;
        pthread_cond_broadcast(&g->cv); /* vn_gate_go waits for the last one */
    }
    pthread_mutex_unlock(&g->mu);
}
