/*
 * Preloaded into the User-Mode Linux 6.1 kernel process by ipvs.testing.sandbox.
 *
 * UML 6.1 keeps a guest thread's FPU state in a fixed 832-byte buffer (the
 * x87, SSE and AVX parts of the XSAVE area) and writes it back with
 * ptrace(PTRACE_SETREGSET, NT_X86_XSTATE). A host kernel accepts that call
 * only with a buffer of exactly its full XSAVE size: 2,696 bytes with
 * AVX-512 or protection keys, 11,008 with AMX. On such hosts UML's init dies
 * of SIGSEGV at boot ("ptrace set fp regs failed, errno = 14").
 *
 * This wrapper turns a short SETREGSET into a full one: it reads the
 * thread's whole state, lays UML's 832 bytes over the start, keeps the
 * host's feature bits for the parts UML does not know, and writes the whole
 * area. Every other ptrace call passes through unchanged. The extended
 * (AVX-512, AMX) registers are therefore not switched per guest thread; the
 * sandbox tells the guest's glibc and OpenSSL not to use them.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>

#define REQ_GETREGSET 0x4204
#define REQ_SETREGSET 0x4205
#define NOTE_X86_XSTATE 0x202
#define UML_XSTATE_SIZE 832 /* legacy area 512 + header 64 + AVX 256 */
#define XFEATURES_AT 512
#define UML_FEATURES 7 /* x87, SSE, AVX */
#define AREA_MAX 65536

typedef long (*ptrace_fn)(int, pid_t, void *, void *);

static ptrace_fn next_ptrace;
static unsigned char *area;

static long pass(int request, pid_t pid, void *addr, void *data)
{
	if (next_ptrace == NULL)
		next_ptrace = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
	return next_ptrace(request, pid, addr, data);
}

long ptrace(int request, ...)
{
	va_list ap;
	pid_t pid;
	void *addr, *data;
	struct iovec *theirs, whole;
	uint64_t host_bits, their_bits;

	va_start(ap, request);
	pid = va_arg(ap, pid_t);
	addr = va_arg(ap, void *);
	data = va_arg(ap, void *);
	va_end(ap);

	if (request != REQ_SETREGSET || (uintptr_t)addr != NOTE_X86_XSTATE)
		return pass(request, pid, addr, data);
	theirs = data;
	if (area == NULL && (area = calloc(1, AREA_MAX)) == NULL)
		return pass(request, pid, addr, data);
	whole.iov_base = area;
	whole.iov_len = AREA_MAX;
	if (pass(REQ_GETREGSET, pid, addr, &whole) < 0)
		return -1;
	if (theirs->iov_len >= whole.iov_len || theirs->iov_len < UML_XSTATE_SIZE)
		return pass(request, pid, addr, data);
	memcpy(&host_bits, area + XFEATURES_AT, sizeof(host_bits));
	memcpy(&their_bits, (unsigned char *)theirs->iov_base + XFEATURES_AT, sizeof(their_bits));
	memcpy(area, theirs->iov_base, UML_XSTATE_SIZE);
	host_bits = (their_bits & UML_FEATURES) | (host_bits & ~(uint64_t)UML_FEATURES);
	memcpy(area + XFEATURES_AT, &host_bits, sizeof(host_bits));
	return pass(request, pid, addr, &whole);
}
