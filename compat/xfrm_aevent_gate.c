// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Stock kernels generate replay aevents only while xfrm_aevent_is_on() sees a
 * member of the XFRMNLGRP_AEVENTS netlink group, and offer no way for an
 * in-kernel key manager to count itself. So, per network namespace with a
 * registered PF_KEY socket, this joins the group with a kernel netlink socket
 * that frees whatever it is sent.
 *
 * Cost while subscribed: for every replay event xfrm_user builds its
 * XFRM_MSG_NEWAE message and delivers a clone here (one allocation and a
 * queue/dequeue), on top of af_key's own message. Nothing while nobody is
 * subscribed: the socket exists only between the first registration and the
 * last close in a namespace. Loads xfrm_user if it is not loaded.
 */

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/netlink.h>
#include <linux/slab.h>
#include <linux/xfrm.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "xfrm_aevent_gate.h"

struct aevent_sink {
	struct list_head list;
	struct net *net;	/* not counted: users hold their own reference */
	unsigned int users;
	struct socket *sock;
};

static LIST_HEAD(aevent_sinks);
static DEFINE_MUTEX(aevent_sinks_lock);

static void aevent_sink_data_ready(struct sock *sk)
{
	skb_queue_purge(&sk->sk_receive_queue);
}

static struct aevent_sink *aevent_sink_find(struct net *net)
{
	struct aevent_sink *sink;

	list_for_each_entry(sink, &aevent_sinks, list)
		if (net_eq(sink->net, net))
			return sink;
	return NULL;
}

static int aevent_sink_open(struct net *net, struct socket **sockp)
{
	struct sockaddr_nl addr = {
		.nl_family = AF_NETLINK,
		.nl_groups = 1 << (XFRMNLGRP_AEVENTS - 1),
	};
	struct socket *sock;
	int err;

	err = sock_create_kern(net, AF_NETLINK, SOCK_RAW, NETLINK_XFRM, &sock);
	if (err)
		return err;

	sock->sk->sk_data_ready = aevent_sink_data_ready;
	err = kernel_bind(sock, (struct sockaddr *)&addr, sizeof(addr));
	if (err) {
		sock_release(sock);
		return err;
	}
	*sockp = sock;
	return 0;
}

int xfrm_aevent_km_subscribe(struct net *net)
{
	struct aevent_sink *sink;
	int err = 0;

	mutex_lock(&aevent_sinks_lock);
	sink = aevent_sink_find(net);
	if (sink) {
		sink->users++;
		goto out;
	}

	sink = kzalloc(sizeof(*sink), GFP_KERNEL);
	if (!sink) {
		err = -ENOMEM;
		goto out;
	}
	err = aevent_sink_open(net, &sink->sock);
	if (err) {
		kfree(sink);
		goto out;
	}
	sink->net = net;
	sink->users = 1;
	list_add(&sink->list, &aevent_sinks);
out:
	mutex_unlock(&aevent_sinks_lock);
	return err;
}

void xfrm_aevent_km_unsubscribe(struct net *net)
{
	struct aevent_sink *sink;

	mutex_lock(&aevent_sinks_lock);
	sink = aevent_sink_find(net);
	if (sink && !--sink->users) {
		list_del(&sink->list);
		sock_release(sink->sock);
		kfree(sink);
	}
	mutex_unlock(&aevent_sinks_lock);
}
