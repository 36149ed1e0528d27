/* The fd tables and the conversation model, fed without ptrace. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "socktap/model.h"

#define MAXEV 64

struct rec {
	struct st_event ev[MAXEV];
	uint8_t data[MAXEV][32];
	int n;
};

static int rec_event(void *priv, const struct st_event *ev)
{
	struct rec *r = priv;

	cr_assert_lt(r->n, MAXEV);
	r->ev[r->n] = *ev;
	if (ev->data && ev->len)
		memcpy(r->data[r->n], ev->data, ev->len < 32 ? ev->len : 32);
	r->n++;
	return 0;
}

static struct st_model *m;
static struct rec rec;
static struct st_origin_info who = { .pid = 100, .tid = 100, .fd = 3,
				     .syscall = "test", .comm = "unit" };

static void setup(void)
{
	struct st_sink sink = { .name = "rec", .priv = &rec,
				.on_event = rec_event };

	memset(&rec, 0, sizeof(rec));
	m = st_model_new();
	cr_assert_not_null(m);
	cr_assert_geq(st_model_add_sink(m, &sink), 0);
	st_model_set_context(m, &who);
}

static void teardown(void)
{
	st_model_free(m);
}

static struct st_endpoint ep4(const char *ip, uint16_t port)
{
	struct st_endpoint e = { .family = AF_INET, .port = port };

	cr_assert_eq(inet_pton(AF_INET, ip, &e.v4), 1);
	return e;
}

static struct st_socket *tcp_sock(uint64_t ino, struct st_endpoint l,
				  struct st_endpoint p)
{
	struct st_socket *s = st_model_socket(m, ino);

	st_socket_set_type(s, AF_INET, SOCK_STREAM, 0);
	s->local = l;
	s->peer = p;
	return s;
}

static int count(enum st_ev_type t)
{
	int n = 0;

	for (int i = 0; i < rec.n; i++)
		n += rec.ev[i].type == t;
	return n;
}

TestSuite(fdtable, .init = setup, .fini = teardown);

Test(fdtable, dup_keeps_socket_until_last_close)
{
	struct st_fdtable *t = st_fdtable_new();
	struct st_socket *s = tcp_sock(11, ep4("127.0.0.1", 40000),
				       ep4("127.0.0.1", 79));
	struct st_socket *got;

	st_fdtable_set_model(t, m);
	cr_assert_eq(st_fdtable_set_socket(t, 3, s), 0);
	st_model_connected(m, s, ST_ORIGIN_CONNECT, &who);
	cr_assert_eq(st_fdtable_dup(t, 3, 10), 0);
	cr_assert_eq(st_fdtable_lookup(t, 10, &got), ST_FD_SOCKET);
	cr_assert_eq(got, s);
	st_fdtable_close(t, 3);
	cr_assert_eq(count(ST_EV_END), 0, "closing one of two fds ends it");
	cr_assert_eq(st_fdtable_lookup(t, 3, NULL), ST_FD_UNKNOWN);
	st_fdtable_close(t, 10);
	cr_assert_eq(count(ST_EV_FIN), 1);
	cr_assert_eq(count(ST_EV_END), 1);
	cr_assert_null(st_model_socket_find(m, 11), "freed at last close");
	st_fdtable_unref(t);
}

Test(fdtable, fork_copy_shares_sockets)
{
	struct st_fdtable *p = st_fdtable_new(), *c;
	struct st_socket *s = tcp_sock(12, ep4("127.0.0.1", 40001),
				       ep4("127.0.0.1", 80));

	st_fdtable_set_model(p, m);
	st_fdtable_set_socket(p, 4, s);
	st_fdtable_set_other(p, 5);
	st_model_connected(m, s, ST_ORIGIN_CONNECT, &who);
	c = st_fdtable_copy(p);
	cr_assert_eq(st_fdtable_lookup(c, 5, NULL), ST_FD_OTHER);
	st_fdtable_close(p, 4);
	cr_assert_eq(count(ST_EV_END), 0, "the child still has it");
	st_fdtable_unref(c);	/* the child exits */
	cr_assert_eq(count(ST_EV_END), 1);
	st_fdtable_unref(p);
}

Test(fdtable, shared_table_refcount_and_close_range)
{
	struct st_fdtable *t = st_fdtable_new(), *t2;
	struct st_socket *a = tcp_sock(13, ep4("127.0.0.1", 1), ep4("127.0.0.1", 2));
	struct st_socket *b = tcp_sock(14, ep4("127.0.0.1", 3), ep4("127.0.0.1", 4));

	st_fdtable_set_model(t, m);
	t2 = st_fdtable_ref(t);		/* a thread shares it */
	st_fdtable_set_socket(t, 20, a);
	st_fdtable_set_socket(t, 25, b);
	st_fdtable_set_other(t, 22);
	cr_assert_eq(st_fdtable_count(t2), 3);
	st_fdtable_close_range(t, 21, 30);
	cr_assert_eq(st_fdtable_lookup(t, 20, NULL), ST_FD_SOCKET);
	cr_assert_eq(st_fdtable_lookup(t, 22, NULL), ST_FD_UNKNOWN);
	cr_assert_null(st_model_socket_find(m, 14));
	st_fdtable_unref(t2);
	cr_assert_not_null(st_model_socket_find(m, 13), "one ref left");
	st_fdtable_unref(t);
	cr_assert_null(st_model_socket_find(m, 13));
}

static bool only_fd7(void *arg, int fd, uint64_t ino)
{
	return fd == 7;
}

Test(fdtable, exec_sweep_drops_cloexec_and_files)
{
	struct st_fdtable *t = st_fdtable_new();

	st_fdtable_set_model(t, m);
	st_fdtable_set_socket(t, 7, tcp_sock(15, ep4("127.0.0.1", 5), ep4("127.0.0.1", 6)));
	st_fdtable_set_socket(t, 8, tcp_sock(16, ep4("127.0.0.1", 7), ep4("127.0.0.1", 8)));
	st_fdtable_set_other(t, 9);
	st_fdtable_exec_sweep(t, only_fd7, NULL);
	cr_assert_eq(st_fdtable_lookup(t, 7, NULL), ST_FD_SOCKET);
	cr_assert_eq(st_fdtable_lookup(t, 8, NULL), ST_FD_UNKNOWN);
	cr_assert_eq(st_fdtable_lookup(t, 9, NULL), ST_FD_UNKNOWN);
	st_fdtable_unref(t);
}

Test(fdtable, reused_number_becomes_file)
{
	struct st_fdtable *t = st_fdtable_new();

	st_fdtable_set_model(t, m);
	st_fdtable_set_socket(t, 3, tcp_sock(17, ep4("127.0.0.1", 9), ep4("127.0.0.1", 10)));
	st_fdtable_dup(t, 4, 3);	/* dup2(unknown file, 3) */
	cr_assert_eq(st_fdtable_lookup(t, 3, NULL), ST_FD_UNKNOWN);
	cr_assert_null(st_model_socket_find(m, 17));
	st_fdtable_set_other(t, 3);
	cr_assert_eq(st_fdtable_lookup(t, 3, NULL), ST_FD_OTHER);
	st_fdtable_unref(t);
}

TestSuite(conv, .init = setup, .fini = teardown);

Test(conv, stream_directions_counters_and_order)
{
	struct st_socket *s = tcp_sock(21, ep4("127.0.0.1", 41234),
				       ep4("127.0.0.1", 79));
	const struct st_conv *c;

	st_socket_ref(s);
	st_model_connected(m, s, ST_ORIGIN_CONNECT, &who);
	st_model_data(m, s, true, (const uint8_t *)"root\r\n", 6, 0, 0, NULL, &who);
	st_model_data(m, s, false, (const uint8_t *)"Login", 5, 0, 0, NULL, &who);
	st_model_peer_fin(m, s, &who);
	st_socket_unref(m, s, &who);
	cr_assert_eq(rec.n, 6);
	cr_assert_eq(rec.ev[0].type, ST_EV_OPEN);
	cr_assert_eq(rec.ev[1].type, ST_EV_DATA);
	cr_assert_eq(rec.ev[1].dir, ST_DIR_A_TO_B);
	cr_assert_eq(memcmp(rec.data[1], "root\r\n", 6), 0);
	cr_assert_eq(rec.ev[2].dir, ST_DIR_B_TO_A);
	cr_assert_eq(rec.ev[3].type, ST_EV_FIN);
	cr_assert_eq(rec.ev[3].dir, ST_DIR_B_TO_A, "peer's FIN");
	cr_assert_eq(rec.ev[4].type, ST_EV_FIN);
	cr_assert_eq(rec.ev[4].dir, ST_DIR_A_TO_B, "our close");
	cr_assert_eq(rec.ev[5].type, ST_EV_END);
	for (int i = 1; i < rec.n; i++)
		cr_assert_gt(rec.ev[i].order, rec.ev[i - 1].order);
	c = st_model_convs(m);
	cr_assert_eq(c->bytes[0], 6);
	cr_assert_eq(c->bytes[1], 5);
	cr_assert_eq(c->end, ST_END_FIN);
}

Test(conv, both_ends_traced_is_one_conversation)
{
	struct st_endpoint cl = ep4("127.0.0.1", 50000), sv = ep4("127.0.0.1", 8080);
	struct st_socket *a = tcp_sock(31, cl, sv), *b = tcp_sock(32, sv, cl);

	st_socket_ref(a);
	st_socket_ref(b);
	st_model_connected(m, a, ST_ORIGIN_CONNECT, &who);
	st_model_connected(m, b, ST_ORIGIN_ACCEPT, &who);
	cr_assert_eq(st_model_conv_count(m), 1);
	cr_assert_eq(a->conv, b->conv);
	st_model_data(m, a, true, (const uint8_t *)"GET", 3, 0, 0, NULL, &who);
	st_model_data(m, b, false, (const uint8_t *)"GET", 3, 0, 0, NULL, &who);
	st_model_data(m, b, true, (const uint8_t *)"200", 3, 0, 0, NULL, &who);
	st_model_data(m, a, false, (const uint8_t *)"200", 3, 0, 0, NULL, &who);
	cr_assert_eq(count(ST_EV_DATA), 2, "each byte recorded once");
	cr_assert_eq(a->conv->bytes[ST_DIR_A_TO_B], 3);
	cr_assert_eq(a->conv->bytes[ST_DIR_B_TO_A], 3);
	st_socket_unref(m, a, &who);
	cr_assert_eq(count(ST_EV_END), 0, "the server end is still open");
	st_socket_unref(m, b, &who);
	cr_assert_eq(count(ST_EV_END), 1);
	cr_assert_eq(count(ST_EV_FIN), 2);
}

Test(conv, ipv4_mapped_peer_matches)
{
	struct st_endpoint cl = ep4("127.0.0.1", 50001), sv6 = { .family = AF_INET6, .port = 8080 };
	struct st_endpoint cl6 = { .family = AF_INET6, .port = 50001 };
	struct st_socket *a, *b;

	inet_pton(AF_INET6, "::ffff:127.0.0.1", &sv6.v6);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &cl6.v6);
	a = tcp_sock(41, cl, ep4("127.0.0.1", 8080));
	b = st_model_socket(m, 42);
	st_socket_set_type(b, AF_INET6, SOCK_STREAM, 0);
	b->local = sv6;
	b->peer = cl6;
	st_socket_ref(a);
	st_socket_ref(b);
	st_model_connected(m, a, ST_ORIGIN_CONNECT, &who);
	st_model_connected(m, b, ST_ORIGIN_ACCEPT, &who);
	cr_assert_eq(st_model_conv_count(m), 1);
	st_socket_unref(m, a, &who);
	st_socket_unref(m, b, &who);
}

Test(conv, udp_peers_each_a_conversation)
{
	struct st_socket *s = st_model_socket(m, 51);
	struct st_endpoint p1 = ep4("127.0.0.1", 5301), p2 = ep4("127.0.0.1", 5302);

	st_socket_set_type(s, AF_INET, SOCK_DGRAM, 0);
	s->local = ep4("127.0.0.1", 40000);
	st_socket_ref(s);
	st_model_data(m, s, true, (const uint8_t *)"to-1", 4, ST_EVF_DGRAM, 0, &p1, &who);
	st_model_data(m, s, true, (const uint8_t *)"to-2", 4, ST_EVF_DGRAM, 0, &p2, &who);
	st_model_data(m, s, false, (const uint8_t *)"re-1", 4, ST_EVF_DGRAM, 0, &p1, &who);
	cr_assert_eq(st_model_conv_count(m), 2);
	cr_assert_eq(st_model_convs(m)->bytes[0], 4);
	cr_assert_eq(st_model_convs(m)->bytes[1], 4);
	cr_assert_eq(st_model_convs(m)->next->bytes[1], 0);
	st_socket_unref(m, s, &who);
	cr_assert_eq(count(ST_EV_END), 2);
	cr_assert_eq(count(ST_EV_FIN), 0, "datagrams have no FIN");
	cr_assert_eq(st_model_convs(m)->end, ST_END_CLOSED);
}

Test(conv, socketpair_dedup_by_peer_inode)
{
	struct st_socket *a = st_model_socket(m, 61), *b = st_model_socket(m, 62);

	st_socket_set_type(a, AF_UNIX, SOCK_STREAM, 0);
	st_socket_set_type(b, AF_UNIX, SOCK_STREAM, 0);
	a->peer_ino = 62;
	b->peer_ino = 61;
	st_socket_ref(a);
	st_socket_ref(b);
	st_model_connected(m, a, ST_ORIGIN_PAIR, &who);
	st_model_connected(m, b, ST_ORIGIN_PAIR, &who);
	cr_assert_eq(st_model_conv_count(m), 1);
	st_model_data(m, b, true, (const uint8_t *)"ping", 4, 0, 0, NULL, &who);
	cr_assert_eq(a->conv->bytes[ST_DIR_B_TO_A], 4);
	st_socket_unref(m, a, &who);
	st_socket_unref(m, b, &who);
}

Test(conv, gap_reset_and_finish)
{
	struct st_socket *s = tcp_sock(71, ep4("127.0.0.1", 1000), ep4("127.0.0.1", 2000));
	struct timespec now = { 5, 0 };

	st_socket_ref(s);
	st_model_connected(m, s, ST_ORIGIN_CONNECT, &who);
	st_model_gap(m, s, true, 100, "test", NULL, &who);
	cr_assert_eq(s->conv->gap_bytes[0], 100);
	cr_assert_eq(s->conv->bytes[0], 0);
	st_model_reset(m, s, &who);
	st_model_reset(m, s, &who);
	cr_assert_eq(count(ST_EV_RESET), 1);
	cr_assert_eq(st_model_finish(m, &now), 0);
	cr_assert_eq(count(ST_EV_END), 1);
	cr_assert_eq(st_model_convs(m)->end, ST_END_RESET);
	cr_assert_eq(count(ST_EV_FIN), 0, "no FIN after a reset");
	st_socket_unref(m, s, &who);
}

static bool only_port_79(void *arg, const struct st_conv *c)
{
	return c->b.port == 79;
}

Test(conv, filter_selects_conversations)
{
	struct st_socket *a = tcp_sock(81, ep4("127.0.0.1", 1), ep4("127.0.0.1", 79));
	struct st_socket *b = tcp_sock(82, ep4("127.0.0.1", 2), ep4("127.0.0.1", 80));

	st_model_set_select(m, only_port_79, NULL);
	st_socket_ref(a);
	st_socket_ref(b);
	st_model_connected(m, a, ST_ORIGIN_CONNECT, &who);
	st_model_connected(m, b, ST_ORIGIN_CONNECT, &who);
	st_model_data(m, b, true, (const uint8_t *)"x", 1, 0, 0, NULL, &who);
	cr_assert_eq(rec.n, 1, "only the port-79 conversation is seen");
	cr_assert_eq(rec.ev[0].conv->b.port, 79);
	st_socket_unref(m, a, &who);
	st_socket_unref(m, b, &who);
}

Test(conv, detach_leaves_conversations_open)
{
	struct st_fdtable *t = st_fdtable_new();
	struct st_socket *s = tcp_sock(91, ep4("127.0.0.1", 3000), ep4("127.0.0.1", 4000));
	struct timespec now = { 9, 0 };

	st_fdtable_set_model(t, m);
	st_fdtable_set_socket(t, 3, s);
	st_model_connected(m, s, ST_ORIGIN_CONNECT, &who);
	st_model_set_detaching(m);
	st_fdtable_unref(t);
	cr_assert_eq(count(ST_EV_FIN), 0, "a detach closes nothing");
	st_model_finish(m, &now);
	cr_assert_eq(count(ST_EV_END), 1);
	cr_assert_eq(st_model_convs(m)->end, ST_END_OPEN);
}

static int fake_route(void *arg, pid_t pid, const struct st_socket *s,
		      const struct st_endpoint *peer, struct st_endpoint *local)
{
	*local = ep4("127.0.0.1", 0);
	return 0;
}

Test(conv, wildcard_udp_gets_routed_source_and_dedups)
{
	struct st_socket *cl = st_model_socket(m, 101), *sv = st_model_socket(m, 102);
	struct st_endpoint svaddr = ep4("127.0.0.1", 53), claddr = ep4("127.0.0.1", 40000);

	st_model_set_route(m, fake_route, NULL);
	st_socket_set_type(cl, AF_INET, SOCK_DGRAM, 0);
	st_socket_set_type(sv, AF_INET, SOCK_DGRAM, 0);
	cl->local = ep4("0.0.0.0", 40000);
	sv->local = svaddr;
	st_socket_ref(cl);
	st_socket_ref(sv);
	st_model_data(m, cl, true, (const uint8_t *)"q", 1, ST_EVF_DGRAM, 0, &svaddr, &who);
	cr_assert_eq(st_model_convs(m)->a.v4.s_addr, claddr.v4.s_addr,
		     "side A carries the routed address");
	st_model_data(m, sv, false, (const uint8_t *)"q", 1, ST_EVF_DGRAM, 0, &claddr, &who);
	st_model_data(m, sv, true, (const uint8_t *)"r", 1, ST_EVF_DGRAM, 0, &claddr, &who);
	st_model_data(m, cl, false, (const uint8_t *)"r", 1, ST_EVF_DGRAM, 0, &svaddr, &who);
	cr_assert_eq(st_model_conv_count(m), 1, "both ends: one conversation");
	cr_assert_eq(count(ST_EV_DATA), 2, "each datagram once");
	st_socket_unref(m, cl, &who);
	st_socket_unref(m, sv, &who);
}

Test(conv, new_socket_takes_a_reused_inode_over)
{
	struct st_socket *old = st_model_socket(m, 111), *fresh;

	st_socket_ref(old);
	fresh = st_model_socket_new(m, 111);
	cr_assert_neq(fresh, old, "a socket() result is never an old socket");
	cr_assert_eq(st_model_socket_find(m, 111), fresh);
	st_socket_ref(fresh);
	st_socket_unref(m, old, &who);	/* the late close of the old one */
	cr_assert_eq(st_model_socket_find(m, 111), fresh, "untouched");
	st_socket_unref(m, fresh, &who);
}

Test(conv, both_ends_reads_after_the_sender_closed_count_once)
{
	struct st_endpoint cl = ep4("127.0.0.1", 50100), sv = ep4("127.0.0.1", 80);
	struct st_socket *a = tcp_sock(121, cl, sv), *b = tcp_sock(122, sv, cl);
	struct st_conv *c;

	st_socket_ref(a);
	st_socket_ref(b);
	st_model_connected(m, a, ST_ORIGIN_CONNECT, &who);
	st_model_connected(m, b, ST_ORIGIN_ACCEPT, &who);
	c = a->conv;
	st_model_data(m, b, true, (const uint8_t *)"bye", 3, 0, 0, NULL, &who);
	st_socket_unref(m, b, &who);	/* the server closes first */
	st_model_data(m, a, false, (const uint8_t *)"bye", 3, 0, 0, NULL, &who);
	cr_assert_eq(c->bytes[ST_DIR_B_TO_A], 3, "not 6");
	st_socket_unref(m, a, &who);
}

Test(conv, connected_udp_client_and_unconnected_server_are_one)
{
	struct st_endpoint cl = ep4("127.0.0.1", 40200), sv = ep4("127.0.0.1", 53);
	struct st_socket *a = st_model_socket(m, 131), *b = st_model_socket(m, 132);

	st_socket_set_type(a, AF_INET, SOCK_DGRAM, 0);
	st_socket_set_type(b, AF_INET, SOCK_DGRAM, 0);
	a->local = cl;
	a->peer = sv;
	b->local = sv;
	st_socket_ref(a);
	st_socket_ref(b);
	st_model_connected(m, a, ST_ORIGIN_CONNECT, &who);
	st_model_data(m, a, true, (const uint8_t *)"q", 1, ST_EVF_DGRAM, 0, NULL, &who);
	st_model_data(m, b, false, (const uint8_t *)"q", 1, ST_EVF_DGRAM, 0, &cl, &who);
	st_model_data(m, b, true, (const uint8_t *)"r", 1, ST_EVF_DGRAM, 0, &cl, &who);
	cr_assert_eq(st_model_conv_count(m), 1);
	cr_assert_eq(count(ST_EV_DATA), 2);
	st_socket_unref(m, a, &who);
	st_socket_unref(m, b, &who);
}

/* Two unconnected UDP sockets, both traced, each with other peers too:
 * closing one must leave the other's conversations alone. */
Test(conv, shared_dgram_conversation_keeps_both_lists_apart)
{
	struct st_socket *a = st_model_socket(m, 141), *b = st_model_socket(m, 142);
	struct st_endpoint ea = ep4("127.0.0.1", 5001), eb = ep4("127.0.0.1", 5002);
	struct st_endpoint x = ep4("127.0.0.1", 6001), y = ep4("127.0.0.1", 6002);

	st_socket_set_type(a, AF_INET, SOCK_DGRAM, 0);
	st_socket_set_type(b, AF_INET, SOCK_DGRAM, 0);
	a->local = ea;
	b->local = eb;
	st_socket_ref(a);
	st_socket_ref(b);
	st_model_data(m, a, true, (const uint8_t *)"1", 1, ST_EVF_DGRAM, 0, &x, &who);
	st_model_data(m, a, true, (const uint8_t *)"2", 1, ST_EVF_DGRAM, 0, &eb, &who);
	st_model_data(m, b, true, (const uint8_t *)"3", 1, ST_EVF_DGRAM, 0, &y, &who);
	st_model_data(m, b, false, (const uint8_t *)"2", 1, ST_EVF_DGRAM, 0, &ea, &who);
	cr_assert_eq(st_model_conv_count(m), 3, "a-x, a-b (shared), b-y");
	st_socket_unref(m, a, &who);
	cr_assert_eq(count(ST_EV_END), 1, "only a-x ended: %d", count(ST_EV_END));
	st_model_data(m, b, true, (const uint8_t *)"4", 1, ST_EVF_DGRAM, 0, &y, &who);
	cr_assert_eq(st_model_conv_count(m), 3, "b-y found again");
	st_socket_unref(m, b, &who);
	cr_assert_eq(count(ST_EV_END), 3);
}
