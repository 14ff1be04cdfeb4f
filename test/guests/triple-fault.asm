; triple-fault.asm: a triple fault resets the machine, and CMOS memory survives the reset.
;
; Proves: a fault that cannot be delivered (IDT limit 0: ud2 -> #GP -> #DF -> shutdown)
; reaches the machine as a triple fault; without --no-reboot the machine resets, the loader
; runs again, and a CMOS scratch byte written before the reset is still there after it.
;
; CMOS byte 0x40 counts boots; a fresh machine's CMOS is all zero, so the first boot sees 1.
; Expected serial output under --no-reboot (tsemu exits after the triple fault, status 0):
;   boot 1
;   triple faulting
; Expected serial output without --no-reboot:
;   boot 1
;   triple faulting
;   boot 2
;   survived reset
; Exit: debug-exit 0x13 on the second boot, emulator status 39.
;
; Build: nasm -f bin -I test/guests/ -o triple-fault.bin test/guests/triple-fault.asm

%include "lib/multiboot.inc"
%include "lib/serial.inc"

EXIT_OK         equ 0x13
BOOT_COUNTER    equ CMOS_SCRATCH

main:
        call serial_init

        mov al, BOOT_COUNTER
        out CMOS_INDEX, al
        in al, CMOS_DATA
        inc al
        mov bl, al
        mov al, BOOT_COUNTER
        out CMOS_INDEX, al
        mov al, bl
        out CMOS_DATA, al

        mov esi, msg_boot
        call serial_puts
        movzx eax, bl
        call serial_put_dec
        mov esi, msg_crlf
        call serial_puts

        cmp bl, 1
        jne .survived

        mov esi, msg_faulting
        call serial_puts
        ; With a zero-limit IDT every vector is out of bounds: the #UD from ud2 cannot be
        ; delivered and becomes #GP, delivering #GP raises #DF, delivering #DF is a triple
        ; fault: the CPU shuts down (SDM 6.15, "Interrupt 8 - Double Fault Exception").
        ; A fault, not a software interrupt: "int3" would do the same on a CPU, but KVM's
        ; instruction emulator (which runs guest CPL0 code on PVM hosts) implements INT n
        ; only in real mode and reports an emulation failure instead of faulting.
        lidt [null_idt_descriptor]
        ud2
        ; Not reached: a CPU that got here did not fault.
        DEBUG_EXIT EXIT_FAILURE

.survived:
        mov esi, msg_survived
        call serial_puts
        DEBUG_EXIT EXIT_OK

null_idt_descriptor:
        dw 0                            ; limit 0: not even vector 0 fits (8 bytes)
        dd 0

msg_boot:       db `boot `, 0
msg_faulting:   db `triple faulting\r\n`, 0
msg_survived:   db `survived reset\r\n`, 0
msg_crlf:       db `\r\n`, 0

MULTIBOOT_IMAGE_END
