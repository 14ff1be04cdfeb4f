; pit-hlt.asm: timer interrupts through the 8259A pair, and HLT waking on them.
;
; Proves: an IDT and interrupt gates work, the PICs take the standard PC initialisation
; (vectors 0x20-0x2f), the 8254 counter 0 in mode 2 raises IRQ0 periodically, HLT sleeps until
; the next interrupt and the IRQ0 handler's EOI lets the next tick through. Also reads the
; RTC seconds register once, which proves CMOS answers at 0x70/0x71.
;
; Expected serial output (NN = the raw seconds byte, BCD 00-59 unless the RTC is in binary):
;   pit-hlt guest
;   rtc seconds: 0xNN
;   ticks: 20
; Exit: debug-exit 0x11, emulator status 35. Any exception prints "unexpected exception" and
; exits with 0x7f (status 255).
;
; The run takes 20 ticks of 1 ms; the guest only executes in the handler and between HLTs.
;
; Build: nasm -f bin -I test/guests/ -o pit-hlt.bin test/guests/pit-hlt.asm

%include "lib/multiboot.inc"
%include "lib/serial.inc"

EXIT_OK         equ 0x11
TICK_TARGET     equ 20
PIT_DIVISOR     equ 1193                ; 1193182 Hz / 1193 = 1000.15 Hz
PIT_CH0_LOHI_MODE2 equ 0x34             ; counter 0, LSB then MSB, mode 2 (rate generator), binary
IRQ0_VECTOR     equ 0x20
IDT_ENTRIES     equ 0x30                ; 0x00-0x1f exceptions, 0x20-0x2f the two PICs

main:
        call serial_init
        mov esi, msg_hello
        call serial_puts

        ; CMOS register 0 holds the seconds; select it through the index port, read the data port.
        mov al, CMOS_REG_SECONDS
        out CMOS_INDEX, al
        in al, CMOS_DATA
        mov esi, msg_rtc
        call serial_puts
        call serial_put_hex8
        mov esi, msg_crlf
        call serial_puts

        lidt [idt_descriptor]

        ; The 8259As to vectors 0x20/0x28 (lib/pc.inc), clear of the CPU's exceptions.
        PIC_REMAP_20_28
        ; OCW1: mask everything but IRQ0 (the timer).
        mov al, 0xfe
        out PIC1_DATA, al
        mov al, 0xff
        out PIC2_DATA, al

        ; 8254 counter 0 at 1000 Hz: control word, then the 16-bit divisor low byte first.
        mov al, PIT_CH0_LOHI_MODE2
        out PIT_MODE, al
        mov al, PIT_DIVISOR & 0xff
        out PIT_CH0, al
        mov al, PIT_DIVISOR >> 8
        out PIT_CH0, al

        ; Sleep until the handler has counted TICK_TARGET ticks. The check runs with IF=0 and
        ; "sti; hlt" re-enables interrupts only after the HLT has started (STI delays
        ; recognition by one instruction), so a tick can never slip in between the check and
        ; the HLT and leave us asleep.
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
        mov esi, msg_crlf
        call serial_puts
        DEBUG_EXIT EXIT_OK

; Return from an interrupt to the same privilege level. IRET is the instruction for it, but
; KVM's x86 instruction emulator implements IRET only for real mode, and on hosts that emulate
; guest CPL0 code with it (PVM, as on tsemu's development machines) a protected-mode IRET is
; an emulation failure. For a same-privilege frame (EIP, CS, EFLAGS on the stack) this does
; the same: restore EFLAGS (with IF), then far-return and drop the saved EFLAGS slot. The one
; difference, that an interrupt may nest between the two instructions, is harmless here.
%macro IRET_SAME_PRIVILEGE 0
        push dword [esp + 8]            ; the saved EFLAGS
        popfd
        retf 4
%endmacro

; IRQ0: count up to the target (and no further, so the printed count is exact), then EOI
; so the master PIC delivers the next tick.
irq0_handler:
        push eax
        cmp dword [ticks], TICK_TARGET
        jae .eoi
        inc dword [ticks]
.eoi:
        mov al, PIC_OCW2_EOI
        out PIC1_CMD, al
        pop eax
        IRET_SAME_PRIVILEGE

; The other PIC vectors are masked; only a spurious IRQ7/IRQ15 can arrive, and a spurious
; interrupt must not be acknowledged with an EOI.
spurious_handler:
        IRET_SAME_PRIVILEGE

exception_handler:
        mov esi, msg_exception
        call serial_puts
        DEBUG_EXIT EXIT_FAILURE

; An interrupt gate splits the handler offset into two 16-bit halves around the selector and
; type. With org-based flat binaries, (label - $$ + origin) is a plain number nasm can split.

        align 8
idt:
%rep 0x20
        IDT_GATE exception_handler
%endrep
        IDT_GATE irq0_handler
%rep 0x0f
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
msg_hello:      db `pit-hlt guest\r\n`, 0
msg_rtc:        db `rtc seconds: `, 0
msg_ticks:      db `ticks: `, 0
msg_exception:  db `unexpected exception\r\n`, 0
msg_crlf:       db `\r\n`, 0

MULTIBOOT_IMAGE_END
