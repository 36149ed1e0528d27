/* Syscall injection: the register-level part, per architecture. */
#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include "arch/arch.h"
#include "tracer/tracer.h"

#if defined(__x86_64__)

_Static_assert(sizeof(struct user_regs_struct) <= sizeof(struct st_arch_regs),
	       "st_arch_regs too small");

int st_arch_inject_prepare(pid_t tid, struct st_arch_regs *saved,
			   uint64_t *scratch, size_t len)
{
	struct user_regs_struct r;
	unsigned char insn[2];

	if (ptrace(PTRACE_GETREGS, tid, 0, &r) < 0)
		return -errno;
	memcpy(saved, &r, sizeof(r));
	/* the thread must sit just after a 2-byte "syscall" (0f 05) */
	if (st_mem_read_exact(tid, r.rip - 2, insn, sizeof(insn)) < 0 ||
	    insn[0] != 0x0f || insn[1] != 0x05)
		return -ENOEXEC;
	/* below the 128-byte red zone, 16-byte aligned */
	*scratch = (r.rsp - 128 - len - 64) & ~(uint64_t)15;
	return 0;
}

int st_arch_inject_load(pid_t tid, const struct st_arch_regs *saved,
			long nr, const uint64_t args[6])
{
	struct user_regs_struct r;

	memcpy(&r, saved, sizeof(r));
	r.rip -= 2;
	r.rax = (uint64_t)nr;
	r.orig_rax = (uint64_t)nr;
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	return ptrace(PTRACE_SETREGS, tid, 0, &r) < 0 ? -errno : 0;
}

int st_arch_inject_result(pid_t tid, long *ret)
{
	struct user_regs_struct r;

	if (ptrace(PTRACE_GETREGS, tid, 0, &r) < 0)
		return -errno;
	*ret = (long)r.rax;
	return 0;
}

int st_arch_restore(pid_t tid, const struct st_arch_regs *saved)
{
	struct user_regs_struct r;

	memcpy(&r, saved, sizeof(r));
	return ptrace(PTRACE_SETREGS, tid, 0, &r) < 0 ? -errno : 0;
}

#else

int st_arch_inject_prepare(pid_t tid, struct st_arch_regs *saved,
			   uint64_t *scratch, size_t len)
{
	return -ENOSYS;
}

int st_arch_inject_load(pid_t tid, const struct st_arch_regs *saved,
			long nr, const uint64_t args[6])
{
	return -ENOSYS;
}

int st_arch_inject_result(pid_t tid, long *ret)
{
	return -ENOSYS;
}

int st_arch_restore(pid_t tid, const struct st_arch_regs *saved)
{
	return -ENOSYS;
}

#endif
