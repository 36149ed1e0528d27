/* Entry and exit handlers, one pair per syscall family (sys_*.c). */
#ifndef SOCKTAP_SYS_H
#define SOCKTAP_SYS_H

#include "handlers/handlers.h"

#define ST_SYS(name) \
	enum st_entry_verdict st_sys_##name##_entry(struct st_hctx *c); \
	void st_sys_##name##_exit(struct st_hctx *c);

ST_SYS(socket)
ST_SYS(socketpair)
ST_SYS(bind)
ST_SYS(listen)
ST_SYS(connect)
ST_SYS(accept)
ST_SYS(shutdown)
ST_SYS(getname)
ST_SYS(sockopt)
ST_SYS(io)
void st_sys_io_running(struct st_hctx *c);
ST_SYS(sendfile)
ST_SYS(splice)
ST_SYS(close)
ST_SYS(close_range)
ST_SYS(io_uring)
enum st_entry_verdict st_sys_dup_entry(struct st_hctx *c);
enum st_entry_verdict st_sys_dup2_entry(struct st_hctx *c);
void st_sys_dup_exit(struct st_hctx *c);
enum st_entry_verdict st_sys_fcntl_entry(struct st_hctx *c);

#endif
