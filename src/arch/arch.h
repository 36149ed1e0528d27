/*
 * Architecture specifics, all in one place.  The syscall numbers
 * themselves come from <sys/syscall.h> for the native ABI; what differs
 * per architecture is the audit arch the seccomp filter checks and the
 * foreign ABIs a native process may still enter.
 */
#ifndef SOCKTAP_ARCH_H
#define SOCKTAP_ARCH_H

#include <linux/audit.h>

#include <stdint.h>
#include <sys/types.h>

#if defined(__x86_64__)
#define ST_AUDIT_ARCH AUDIT_ARCH_X86_64
/* the tracer can make a stopped tracee run a syscall of its choosing */
#define ST_ARCH_CAN_INJECT 1
/* x32 syscalls share the arch value but set this bit in the number */
#define ST_SYSCALL_FOREIGN_BIT 0x40000000u
#define ST_ARCH_NAME "x86_64"
#elif defined(__aarch64__)
#define ST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#define ST_SYSCALL_FOREIGN_BIT 0u
#define ST_ARCH_NAME "aarch64"
#elif defined(__riscv) && __riscv_xlen == 64
#define ST_AUDIT_ARCH AUDIT_ARCH_RISCV64
#define ST_SYSCALL_FOREIGN_BIT 0u
#define ST_ARCH_NAME "riscv64"
#else
#error "socktap: unsupported architecture (add it to src/arch/arch.h)"
#endif

#ifndef ST_ARCH_CAN_INJECT
#define ST_ARCH_CAN_INJECT 0
#endif

/* A thread's registers, saved around an injected syscall. */
struct st_arch_regs {
	uint64_t words[32];	/* big enough for every supported arch */
};

/*
 * Syscall injection, for a thread stopped at a syscall-exit-stop:
 * st_arch_inject_prepare saves its registers and points it back at the
 * syscall instruction it just executed, loaded with nr and args; after
 * the injected call's exit, st_arch_inject_result reads the return value
 * and st_arch_restore puts everything back.  scratch: an address below
 * the thread's stack pointer (and red zone) for len bytes of arguments.
 * All return 0 or -errno (-ENOSYS where the arch cannot).
 */
int st_arch_inject_prepare(pid_t tid, struct st_arch_regs *saved,
			   uint64_t *scratch, size_t len);
int st_arch_inject_load(pid_t tid, const struct st_arch_regs *saved,
			long nr, const uint64_t args[6]);
int st_arch_inject_result(pid_t tid, long *ret);
int st_arch_restore(pid_t tid, const struct st_arch_regs *saved);

#endif
