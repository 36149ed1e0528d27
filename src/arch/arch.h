/*
 * Architecture specifics, all in one place.  The syscall numbers
 * themselves come from <sys/syscall.h> for the native ABI; what differs
 * per architecture is the audit arch the seccomp filter checks and the
 * foreign ABIs a native process may still enter.
 */
#ifndef SOCKTAP_ARCH_H
#define SOCKTAP_ARCH_H

#include <linux/audit.h>

#if defined(__x86_64__)
#define ST_AUDIT_ARCH AUDIT_ARCH_X86_64
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

#endif
