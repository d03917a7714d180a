/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Force-included when building the module for a kernel without
 * xfrm_aevent_km_subscribe() (any kernel without this project's core patch).
 */
#ifndef _COMPAT_XFRM_AEVENT_GATE_H
#define _COMPAT_XFRM_AEVENT_GATE_H

struct net;

int xfrm_aevent_km_subscribe(struct net *net);
void xfrm_aevent_km_unsubscribe(struct net *net);

#endif /* _COMPAT_XFRM_AEVENT_GATE_H */
