/* Symbolic names for the trace: families, socket types, flag sets. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "handlers/handlers.h"

const struct st_flag st_msg_flags[] = {
	{ MSG_OOB, "MSG_OOB" },
	{ MSG_PEEK, "MSG_PEEK" },
	{ MSG_DONTROUTE, "MSG_DONTROUTE" },
	{ MSG_CTRUNC, "MSG_CTRUNC" },
	{ MSG_TRUNC, "MSG_TRUNC" },
	{ MSG_DONTWAIT, "MSG_DONTWAIT" },
	{ MSG_EOR, "MSG_EOR" },
	{ MSG_WAITALL, "MSG_WAITALL" },
	{ MSG_CONFIRM, "MSG_CONFIRM" },
	{ MSG_ERRQUEUE, "MSG_ERRQUEUE" },
	{ MSG_NOSIGNAL, "MSG_NOSIGNAL" },
	{ MSG_MORE, "MSG_MORE" },
	{ MSG_WAITFORONE, "MSG_WAITFORONE" },
	{ MSG_FASTOPEN, "MSG_FASTOPEN" },
	{ MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC" },
	{ 0, NULL },
};

void st_h_flags(char *buf, size_t size, unsigned long v,
		const struct st_flag *tab, const char *zero)
{
	size_t pos = 0;

	buf[0] = '\0';
	if (v == 0) {
		snprintf(buf, size, "%s", zero);
		return;
	}
	for (; tab->name && pos < size; tab++) {
		if ((v & tab->value) != tab->value)
			continue;
		pos += (size_t)snprintf(buf + pos, size - pos, "%s%s",
					pos ? "|" : "", tab->name);
		v &= ~tab->value;
	}
	if (v && pos < size)
		snprintf(buf + pos, size - pos, "%s%#lx", pos ? "|" : "", v);
}

const char *st_h_family_name(int family)
{
	switch (family) {
	case AF_UNIX: return "AF_UNIX";
	case AF_INET: return "AF_INET";
	case AF_INET6: return "AF_INET6";
	case AF_NETLINK: return "AF_NETLINK";
	case AF_PACKET: return "AF_PACKET";
	case AF_UNSPEC: return "AF_UNSPEC";
	case AF_VSOCK: return "AF_VSOCK";
	default: return NULL;
	}
}

void st_h_socktype(char *buf, size_t size, int type)
{
	static const char *const names[] = {
		[SOCK_STREAM] = "SOCK_STREAM", [SOCK_DGRAM] = "SOCK_DGRAM",
		[SOCK_RAW] = "SOCK_RAW", [SOCK_RDM] = "SOCK_RDM",
		[SOCK_SEQPACKET] = "SOCK_SEQPACKET",
	};
	int base = type & 0xf;
	size_t pos;

	if (base < (int)(sizeof(names) / sizeof(names[0])) && names[base])
		pos = (size_t)snprintf(buf, size, "%s", names[base]);
	else
		pos = (size_t)snprintf(buf, size, "%d", base);
	if ((type & SOCK_NONBLOCK) && pos < size)
		pos += (size_t)snprintf(buf + pos, size - pos, "|SOCK_NONBLOCK");
	if ((type & SOCK_CLOEXEC) && pos < size)
		snprintf(buf + pos, size - pos, "|SOCK_CLOEXEC");
}
