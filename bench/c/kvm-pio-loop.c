/*
 * kvm-pio-loop: the C baseline for bench/src/kvm-pio-exit.ts.
 *
 * Runs the smallest KVM guest that exits to user space over and over: a
 * real-mode loop doing `out dx, al` to one port N times, then `hlt`. Every
 * `out` is a KVM_EXIT_IO that this program answers by simply re-entering
 * KVM_RUN, so the time per exit is the raw cost of the KVM exit round trip
 * (guest -> kernel -> user space -> kernel -> guest) with no device model.
 * The loop is bracketed by two writes to a marker port; the time between the
 * two marker exits, divided by N, is the result (the TypeScript benchmark
 * measures the same span).
 *
 * The guest bytes and the register setup are the same as the TypeScript
 * benchmark's; both follow Documentation/virt/kvm/api.rst (KVM_CREATE_VM,
 * KVM_SET_USER_MEMORY_REGION, KVM_CREATE_VCPU, mmap of the vCPU fd for
 * struct kvm_run, KVM_SET_SREGS/KVM_SET_REGS, KVM_RUN).
 *
 * Usage: kvm-pio-loop EXITS PORT
 * Prints one line: "exits=N ns_per_exit=X".  Exit status 2 when KVM is unusable.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_RAM_SIZE 0x10000u
#define GUEST_CODE_GPA 0x1000u
/* Where QEMU and tsemu put the three pages KVM needs for real mode on VMX without
 * unrestricted guest; harmless elsewhere. */
#define TSS_ADDR 0xfffbd000u
#define MARKER_PORT 0x500u

static void die(const char *what, int status)
{
	fprintf(stderr, "kvm-pio-loop: %s: %s\n", what, strerror(errno));
	exit(status);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: kvm-pio-loop EXITS PORT\n");
		return 1;
	}
	uint32_t exits = (uint32_t)strtoul(argv[1], NULL, 0);
	uint16_t port = (uint16_t)strtoul(argv[2], NULL, 0);

	/* Real-mode code at 0000:1000 (the same bytes as bench/src/kvm-pio-exit.ts):
	 *   ba 00 05            mov dx, MARKER_PORT
	 *   ee                  out dx, al          ; start marker
	 *   66 b9 nn nn nn nn   mov ecx, EXITS
	 *   ba pp pp            mov dx, PORT
	 *   ee                  loop: out dx, al
	 *   66 49               dec ecx
	 *   75 fb               jnz loop
	 *   ba 00 05            mov dx, MARKER_PORT
	 *   ee                  out dx, al          ; end marker
	 *   f4                  hlt
	 *   eb fd               jmp $-1 (back to hlt)
	 */
	uint8_t code[] = {
		0xba, 0x00, 0x05,
		0xee,
		0x66, 0xb9, 0, 0, 0, 0,
		0xba, 0, 0,
		0xee,
		0x66, 0x49,
		0x75, 0xfb,
		0xba, 0x00, 0x05,
		0xee,
		0xf4,
		0xeb, 0xfd,
	};
	if (exits == 0 || port == MARKER_PORT) {
		fprintf(stderr, "kvm-pio-loop: EXITS must be > 0 and PORT not 0x%x\n", MARKER_PORT);
		return 1;
	}
	memcpy(&code[6], &exits, 4);
	memcpy(&code[11], &port, 2);

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("open /dev/kvm", 2);
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		die("KVM_GET_API_VERSION", 2);
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM", 2);
	if (ioctl(vm, KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
		die("KVM_SET_TSS_ADDR", 2);

	uint8_t *ram = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap guest RAM", 1);
	memcpy(ram + GUEST_CODE_GPA, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_RAM_SIZE,
		.userspace_addr = (uint64_t)(uintptr_t)ram,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION", 2);

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU", 2);
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE", 2);
	struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run", 2);

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS", 2);
	sregs.cs.selector = 0;
	sregs.cs.base = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS", 2);
	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_CODE_GPA;
	regs.rflags = 0x2; /* bit 1 is reserved and reads as one */
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS", 2);

	uint32_t seen = 0;
	uint64_t start = 0, end = 0;
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN", 1);
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == port) {
			seen++;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == MARKER_PORT) {
			if (start == 0)
				start = now_ns();
			else
				end = now_ns();
			continue;
		}
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		fprintf(stderr, "kvm-pio-loop: unexpected exit reason %u\n", run->exit_reason);
		return 1;
	}
	uint64_t elapsed = end - start;
	if (seen != exits) {
		fprintf(stderr, "kvm-pio-loop: saw %u exits, expected %u\n", seen, exits);
		return 1;
	}
	printf("exits=%u ns_per_exit=%.1f\n", seen, (double)elapsed / (seen ? seen : 1));
	munmap(run, (size_t)run_size);
	munmap(ram, GUEST_RAM_SIZE);
	close(vcpu);
	close(vm);
	close(kvm);
	return 0;
}
