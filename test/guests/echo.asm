; echo.asm: the guest end of the serial console.
;
; Proves: bytes typed on tsemu's stdin reach the guest's COM1 receiver in order, and the guest's
; answers reach stdout. The guest polls LSR.DR (no interrupts), turns lower-case letters into
; upper case (so the output cannot be a host-side echo), echoes every byte, and stops at '.'.
;
; Expected serial output: `echo ready\r\n`, then the input upper-cased, then `\r\nbye\r\n`.
; Exit: debug-exit 0x15 (status 43).
;
; Build: nasm -f bin -I test/guests/ -o echo.bin test/guests/echo.asm

%include "lib/multiboot.inc"
%include "lib/serial.inc"

UART_RBR        equ COM1 + 0
UART_LSR_DR     equ 0x01

main:
        call serial_init
        mov esi, msg_ready
        call serial_puts
.next:
        mov dx, UART_LSR
.wait:
        in al, dx
        test al, UART_LSR_DR
        jz .wait
        mov dx, UART_RBR
        in al, dx
        cmp al, '.'
        je .done
        cmp al, 'a'
        jb .send
        cmp al, 'z'
        ja .send
        sub al, 'a' - 'A'
.send:
        call serial_putc
        jmp .next
.done:
        mov esi, msg_bye
        call serial_puts
        DEBUG_EXIT 0x15

msg_ready:      db `echo ready\r\n`, 0
msg_bye:        db `\r\nbye\r\n`, 0

MULTIBOOT_IMAGE_END
