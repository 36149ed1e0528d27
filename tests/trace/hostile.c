/*
 * A tracee that hands the kernel (and so socktap) bad arguments: short and
 * huge sockaddr lengths, huge iovec counts, iovecs and msghdrs pointing at
 * unmapped memory, UDP segmentation cmsgs the kernel refuses or takes to
 * the extreme, splices that fail, and terminal escapes in its data.
 * Every call must
 * behave exactly as untraced; socktap must neither crash nor print the
 * escapes raw.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static int check(const char *what, long ret, int want_errno)
{
	if (want_errno ? (ret != -1 || errno != want_errno) : ret < 0) {
		printf("FAIL %s: ret %ld errno %d\n", what, ret, errno);
		return 1;
	}
	return 0;
}

/* sendmsg with UDP_SEGMENT: 1-byte datagrams, and a cmsg whose length
 * runs past the control buffer (EINVAL). */
static int udp_segments(int s, struct sockaddr_in *to)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl;
	struct iovec one = { (char *)"abc", 3 };
	struct msghdr mh;
	struct cmsghdr *cm;
	uint16_t seg = 1;
	int bad = 0;

	memset(&ctl, 0, sizeof(ctl));
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = to;
	mh.msg_namelen = sizeof(*to);
	mh.msg_iov = &one;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
	bad += check("sendmsg 1-byte segments", sendmsg(s, &mh, 0), 0);
	cm->cmsg_len = 5000;
	bad += check("sendmsg cmsg past the buffer", sendmsg(s, &mh, 0),
		     EINVAL);
	return bad;
}

/* splice from an empty pipe, between two sockets, and a good one. */
static int splices(int s, int t)
{
	int pp[2], bad = 0;

	if (pipe(pp) < 0)
		return 1;
	bad += check("splice empty pipe", splice(pp[0], NULL, s, NULL, 100,
						 SPLICE_F_NONBLOCK), EAGAIN);
	bad += check("splice socket to socket",
		     splice(t, NULL, s, NULL, 10, SPLICE_F_NONBLOCK), EINVAL);
	bad += check("pipe write", write(pp[1], "pipe", 4), 0);
	bad += check("splice pipe to socket",
		     splice(pp[0], NULL, s, NULL, 100, 0), 0);
	close(pp[0]);
	close(pp[1]);
	return bad;
}

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
	int sp[2], bad = 0;
	char *hole, buf[64];
	struct iovec iov[2000];
	struct msghdr mh;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (u < 0 || v < 0 || bind(u, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(u, (struct sockaddr *)&a, &alen) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		return 2;
	/* a page that is certainly not mapped */
	hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(hole, 4096);

	bad += check("sendto short addrlen",
		     sendto(v, "x", 1, 0, (struct sockaddr *)&a, 1), EINVAL);
	bad += check("sendto huge addrlen",
		     sendto(v, "x", 1, 0, (struct sockaddr *)&a, 100000), EINVAL);
	bad += check("sendto addr unmapped",
		     sendto(v, "x", 1, 0, (struct sockaddr *)hole, sizeof(a)),
		     EFAULT);
	bad += check("sendto buf unmapped",
		     sendto(v, hole, 16, 0, (struct sockaddr *)&a, sizeof(a)),
		     EFAULT);
	for (int i = 0; i < 2000; i++) {
		iov[i].iov_base = (char *)"y";
		iov[i].iov_len = 1;
	}
	bad += check("writev 2000 iovecs", writev(sp[0], iov, 2000), EINVAL);
	iov[0].iov_base = hole;
	iov[0].iov_len = 8;
	bad += check("writev unmapped iovec", writev(sp[0], iov, 1), EFAULT);
	bad += check("writev iov array unmapped",
		     writev(sp[0], (struct iovec *)hole, 1), EFAULT);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = (struct iovec *)hole;
	mh.msg_iovlen = 3;
	bad += check("sendmsg iov unmapped", sendmsg(sp[0], &mh, 0), EFAULT);
	bad += check("sendmsg msghdr unmapped",
		     sendmsg(sp[0], (struct msghdr *)hole, 0), EFAULT);
	/* a datagram waits, so the kernel gets as far as the address */
	bad += check("sendto z", sendto(v, "z", 1, 0, (struct sockaddr *)&a,
					sizeof(a)), 0);
	bad += check("recvfrom addrlen unmapped",
		     recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)buf,
			      (socklen_t *)hole), EFAULT);
	/* terminal escapes and every byte value, as data */
	for (int i = 0; i < 64; i++)
		buf[i] = (char)(i * 4 + (i & 3));
	memcpy(buf, "\033[2J\033]0;owned\007", 14);
	bad += check("write escapes", write(sp[0], buf, sizeof(buf)), 0);
	bad += check("read escapes", read(sp[1], buf, sizeof(buf)), 0);
	bad += check("sendto escapes",
		     sendto(v, "\033[31mred\r\n", 10, 0, (struct sockaddr *)&a,
			    sizeof(a)), 0);
	bad += check("recv escapes", recv(u, buf, sizeof(buf), 0), 0);
	bad += udp_segments(v, &a);
	bad += splices(sp[0], sp[1]);
	printf(bad ? "FAILED %d\n" : "OK\n", bad);
	return bad ? 1 : 0;
}
