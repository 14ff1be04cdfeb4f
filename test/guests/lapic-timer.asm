; lapic-timer.asm: the local APIC as kvm-unit-tests' apic tests touch it, and its timer.
;
; Proves: CPUID.01H:EDX.APIC is set and IA32_APIC_BASE reads 0xfee00900 (enabled, BSP);
; the APIC's ID and version registers answer at 0xfee00000; the spurious vector register
; software-enables it; the LVT timer in periodic mode (divide by 1, vector 0x40) interrupts
; a HLT loop and each EOI lets the next tick through; masking the LVT stops it; with a task
; priority of 0x50 a one-shot vector-0x40 expiry waits in the IRR and lowering the TPR
; delivers it; a fixed self-IPI through the
; ICR arrives on its vector. The 8259 pair is initialised and fully masked, so every
; interrupt counted comes from the APIC.
;
; Expected serial output:
;   lapic-timer guest
;   cpuid apic: 1
;   apic base: 0xfee00900
;   apic version: 0x00050014
;   ticks: 10
;   tpr holds irr: 1
;   tpr lowered, ticks: 11
;   self ipi: 1
; Exit: debug-exit 0x16, emulator status 45. A wrong value prints "lapic check failed" and
; exits with 0x7f (status 255); an exception prints "unexpected exception" and does the same.
;
; Build: nasm -f bin -I test/guests/ -o lapic-timer.bin test/guests/lapic-timer.asm

%include "lib/multiboot.inc"
%include "lib/serial.inc"

EXIT_OK             equ 0x16
TICK_TARGET         equ 10
IA32_APIC_BASE      equ 0x1b
CPUID_1_EDX_APIC    equ 1 << 9
APIC_BASE           equ 0xfee00000              ; IA32_APIC_BASE default (SDM Vol. 3A 11.4.1)
APIC_ID             equ APIC_BASE + 0x020
APIC_VERSION        equ APIC_BASE + 0x030
APIC_TPR            equ APIC_BASE + 0x080
APIC_EOI            equ APIC_BASE + 0x0b0
APIC_SVR            equ APIC_BASE + 0x0f0
APIC_IRR_32_63      equ APIC_BASE + 0x210       ; IRR bits 63:32 (vector 0x40 is bit 0 of 0x220)
APIC_IRR_64_95      equ APIC_BASE + 0x220
APIC_ICR_LOW        equ APIC_BASE + 0x300
APIC_LVT_TIMER      equ APIC_BASE + 0x320
APIC_TIMER_INITIAL  equ APIC_BASE + 0x380
APIC_TIMER_DIVIDE   equ APIC_BASE + 0x3e0
SVR_ENABLE          equ 1 << 8
SPURIOUS_VECTOR     equ 0xff
TIMER_VECTOR        equ 0x40
IPI_VECTOR          equ 0x41
LVT_PERIODIC        equ 1 << 17
LVT_MASKED          equ 1 << 16
DIVIDE_BY_1         equ 0x0b
TIMER_COUNT         equ 1000000                 ; 1 ms at the 1 GHz APIC bus clock
ICR_SELF_FIXED      equ (1 << 18) | IPI_VECTOR  ; destination shorthand 01b (self), fixed, edge
; Under KVM with a user-space APIC the interrupt window may open a few instructions late
; (an exit, then injection): wait up to this many loop turns for a delivery.
SETTLE_LOOPS        equ 100000
IDT_ENTRIES         equ 0x100

main:
        call serial_init
        mov esi, msg_hello
        call serial_puts

        mov eax, 1
        cpuid
        mov esi, msg_cpuid
        call serial_puts
        xor eax, eax
        test edx, CPUID_1_EDX_APIC
        setnz al
        call serial_put_dec
        call crlf
        test edx, CPUID_1_EDX_APIC
        jz fail

        mov ecx, IA32_APIC_BASE
        rdmsr
        mov esi, msg_base
        call serial_puts
        call serial_put_hex32
        call crlf

        mov esi, msg_version
        call serial_puts
        mov eax, [APIC_VERSION]
        call serial_put_hex32
        call crlf

        lidt [idt_descriptor]

        ; The 8259 pair at 0x20/0x28, every line masked: only the APIC may interrupt.
        PIC_REMAP_20_28
        mov al, 0xff
        out PIC1_DATA, al
        out PIC2_DATA, al

        ; Software-enable the APIC, accept every priority, start the periodic timer.
        mov dword [APIC_SVR], SVR_ENABLE | SPURIOUS_VECTOR
        mov dword [APIC_TPR], 0
        mov dword [APIC_TIMER_DIVIDE], DIVIDE_BY_1
        mov dword [APIC_LVT_TIMER], LVT_PERIODIC | TIMER_VECTOR
        mov dword [APIC_TIMER_INITIAL], TIMER_COUNT

        ; Same HLT loop as pit-hlt.asm: "sti; hlt" cannot lose a tick between check and HLT.
.wait:
        cli
        cmp dword [ticks], TICK_TARGET
        jae .counted
        sti
        hlt
        jmp .wait
.counted:
        mov esi, msg_ticks
        call serial_puts
        mov eax, [ticks]
        call serial_put_dec
        call crlf

        ; Stop the periodic timer and let a tick already on its way in (KVM may hold one
        ; for injection) arrive; it is not counted.
        mov dword [APIC_LVT_TIMER], LVT_MASKED | LVT_PERIODIC | TIMER_VECTOR
        mov ecx, SETTLE_LOOPS
        sti
.drain:
        loop .drain
        cli

        ; TPR 0x50: priority class 5 masks vector 0x40 (class 4). A one-shot expiry must
        ; wait in the IRR, with interrupts on, while the count stays put.
        mov dword [APIC_TPR], 0x50
        mov dword [stop_counting], 0
        mov ecx, [ticks]
        mov dword [APIC_LVT_TIMER], TIMER_VECTOR
        mov dword [APIC_TIMER_INITIAL], TIMER_COUNT
        sti
.held:
        test dword [APIC_IRR_64_95], 1
        jz .held
        cli
        mov esi, msg_tpr
        call serial_puts
        xor eax, eax
        cmp ecx, [ticks]
        sete al
        call serial_put_dec
        call crlf
        cmp ecx, [ticks]
        jne fail

        ; Lower the TPR: the held tick is delivered at once.
        mov dword [APIC_TPR], 0
        mov ecx, SETTLE_LOOPS
        sti
.lowered:
        cmp dword [ticks], TICK_TARGET + 1
        loopne .lowered
        cli
        mov esi, msg_lowered
        call serial_puts
        mov eax, [ticks]
        call serial_put_dec
        call crlf
        cmp dword [ticks], TICK_TARGET + 1
        jne fail

        ; A fixed self-IPI (ICR shorthand "self") on vector 0x41.
        mov ecx, SETTLE_LOOPS
        sti
        mov dword [APIC_ICR_LOW], ICR_SELF_FIXED
.sent:
        cmp dword [ipis], 1
        loopne .sent
        cli
        mov esi, msg_ipi
        call serial_puts
        mov eax, [ipis]
        call serial_put_dec
        call crlf
        cmp dword [ipis], 1
        jne fail
        DEBUG_EXIT EXIT_OK

fail:
        mov esi, msg_fail
        call serial_puts
        DEBUG_EXIT EXIT_FAILURE

crlf:
        push esi
        mov esi, msg_crlf
        call serial_puts
        pop esi
        ret

; See pit-hlt.asm: a same-privilege IRET that KVM's instruction emulator (PVM hosts) handles.
%macro IRET_SAME_PRIVILEGE 0
        push dword [esp + 8]            ; the saved EFLAGS
        popfd
        retf 4
%endmacro

; The APIC timer: count (the first part counts TICK_TARGET exactly; after that every
; tick counts), then EOI so the APIC dispatches the next one.
timer_handler:
        push eax
        cmp dword [stop_counting], 0
        je .count
        cmp dword [ticks], TICK_TARGET
        jae .eoi
.count:
        inc dword [ticks]
.eoi:
        mov dword [APIC_EOI], 0
        pop eax
        IRET_SAME_PRIVILEGE

ipi_handler:
        inc dword [ipis]
        mov dword [APIC_EOI], 0
        IRET_SAME_PRIVILEGE

; The spurious vector needs no EOI (SDM 11.9).
spurious_handler:
        IRET_SAME_PRIVILEGE

exception_handler:
        mov esi, msg_exception
        call serial_puts
        DEBUG_EXIT EXIT_FAILURE


        align 8
idt:
%rep 0x20
        IDT_GATE exception_handler
%endrep
%rep TIMER_VECTOR - 0x20
        IDT_GATE spurious_handler
%endrep
        IDT_GATE timer_handler
        IDT_GATE ipi_handler
%rep SPURIOUS_VECTOR - IPI_VECTOR
        IDT_GATE spurious_handler
%endrep
idt_end:
%if idt_end - idt != IDT_ENTRIES * 8
%error IDT size mismatch
%endif

idt_descriptor:
        dw idt_end - idt - 1
        dd idt

ticks:          dd 0
ipis:           dd 0
stop_counting:  dd 1
msg_hello:      db `lapic-timer guest\r\n`, 0
msg_cpuid:      db `cpuid apic: `, 0
msg_base:       db `apic base: `, 0
msg_version:    db `apic version: `, 0
msg_ticks:      db `ticks: `, 0
msg_tpr:        db `tpr holds irr: `, 0
msg_lowered:    db `tpr lowered, ticks: `, 0
msg_ipi:        db `self ipi: `, 0
msg_fail:       db `lapic check failed\r\n`, 0
msg_exception:  db `unexpected exception\r\n`, 0
msg_crlf:       db `\r\n`, 0

MULTIBOOT_IMAGE_END
