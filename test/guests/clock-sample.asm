; clock-sample.asm: prints what the guest can observe of time after a fixed amount of work.
;
; Runs a busy loop of a fixed number of instructions with the PIT ticking at 1 kHz and
; interrupts on (no HLT), then prints the ticks counted, the PIT counter 0 latched value,
; the TSC and the RTC date and time. On a host-time clock every line but the date varies from run to
; run; on tsemu's instruction-counted virtual clock (--clock=virtual, --rtc-base fixed) the
; output is byte-identical every run, and --icount=SHIFT scales the tick count by 2^SHIFT.
;
; Expected serial output (values depend on the clock):
;   clock-sample guest
;   ticks: N
;   pit count: 0xNNNNNNNN
;   tsc: 0xHHHHHHHH 0xLLLLLLLL
;   rtc: 0xYY-0xMM-0xDD 0xhh:0xmm:0xss
; Exit: debug-exit 0x17, emulator status 47; an exception prints "unexpected exception"
; and exits with 0x7f (status 255).
;
; Build: nasm -f bin -I test/guests/ -o clock-sample.bin test/guests/clock-sample.asm

%include "lib/multiboot.inc"
%include "lib/serial.inc"

EXIT_OK             equ 0x17
SPIN_LOOPS          equ 2500000         ; 2 instructions a turn: 5,000,000 instructions
PIT_DIVISOR         equ 1193            ; 1193182 Hz / 1193 = 1000.15 Hz
PIT_CH0_LOHI_MODE2  equ 0x34
PIT_CH0_LATCH       equ 0x00            ; counter latch command for counter 0
CMOS_REG_MINUTES    equ 0x02
CMOS_REG_HOURS      equ 0x04
CMOS_REG_DAY        equ 0x07
CMOS_REG_MONTH      equ 0x08
CMOS_REG_YEAR       equ 0x09

main:
        call serial_init
        mov esi, msg_hello
        call serial_puts
        lidt [idt_descriptor]

        ; 8259A pair at 0x20/0x28 (as pit-hlt.asm), only IRQ0 unmasked.
        PIC_REMAP_20_28
        mov al, 0xfe
        out PIC1_DATA, al
        mov al, 0xff
        out PIC2_DATA, al

        mov al, PIT_CH0_LOHI_MODE2
        out PIT_MODE, al
        mov al, PIT_DIVISOR & 0xff
        out PIT_CH0, al
        mov al, PIT_DIVISOR >> 8
        out PIT_CH0, al

        ; A fixed amount of work with the timer running.
        sti
        mov ecx, SPIN_LOOPS
.spin:
        dec ecx
        jnz .spin
        cli

        mov esi, msg_ticks
        call serial_puts
        mov eax, [ticks]
        call serial_put_dec
        call crlf

        ; Latch counter 0, then read it low byte first.
        mov al, PIT_CH0_LATCH
        out PIT_MODE, al
        in al, PIT_CH0
        mov ah, al
        in al, PIT_CH0
        xchg al, ah
        movzx eax, ax
        mov esi, msg_pit
        call serial_puts
        call serial_put_hex32
        call crlf

        rdtsc
        mov esi, msg_tsc
        call serial_puts
        xchg eax, edx
        call serial_put_hex32
        mov al, ' '
        call serial_putc
        mov eax, edx
        call serial_put_hex32
        call crlf

        mov esi, msg_rtc
        call serial_puts
        mov bl, CMOS_REG_YEAR
        call cmos_hex
        mov al, '-'
        call serial_putc
        mov bl, CMOS_REG_MONTH
        call cmos_hex
        mov al, '-'
        call serial_putc
        mov bl, CMOS_REG_DAY
        call cmos_hex
        mov al, ' '
        call serial_putc
        mov bl, CMOS_REG_HOURS
        call cmos_hex
        mov al, ':'
        call serial_putc
        mov bl, CMOS_REG_MINUTES
        call cmos_hex
        mov al, ':'
        call serial_putc
        mov bl, CMOS_REG_SECONDS
        call cmos_hex
        call crlf
        DEBUG_EXIT EXIT_OK

; cmos_hex: print CMOS register BL as 0xNN.
cmos_hex:
        mov al, bl
        out CMOS_INDEX, al
        in al, CMOS_DATA
        call serial_put_hex8
        ret

crlf:
        push esi
        mov esi, msg_crlf
        call serial_puts
        pop esi
        ret

; See pit-hlt.asm: a same-privilege IRET that KVM's instruction emulator (PVM hosts) handles.
%macro IRET_SAME_PRIVILEGE 0
        push dword [esp + 8]
        popfd
        retf 4
%endmacro

irq0_handler:
        push eax
        inc dword [ticks]
        mov al, PIC_OCW2_EOI
        out PIC1_CMD, al
        pop eax
        IRET_SAME_PRIVILEGE

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
        IDT_GATE irq0_handler
%rep 0x0f
        IDT_GATE spurious_handler
%endrep
idt_end:

idt_descriptor:
        dw idt_end - idt - 1
        dd idt

ticks:          dd 0
msg_hello:      db `clock-sample guest\r\n`, 0
msg_ticks:      db `ticks: `, 0
msg_pit:        db `pit count: `, 0
msg_tsc:        db `tsc: `, 0
msg_rtc:        db `rtc: `, 0
msg_exception:  db `unexpected exception\r\n`, 0
msg_crlf:       db `\r\n`, 0

MULTIBOOT_IMAGE_END
