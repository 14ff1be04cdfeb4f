; pio-bench.asm: measures the port-I/O exit round trip with a tight loop of OUTs.
;
; Performs PIO_COUNT `out dx, al` to PIO_PORT; nothing else in the loop leaves the guest (no
; other I/O, no MMIO, no HLT, interrupts off), so under KVM the run time divided by PIO_COUNT
; is the cost of one I/O exit handled by the host. PIO_PORT defaults to 0x0f0f, which no
; device on tsemu's PC (or QEMU's) claims, so the exit reaches the bus and is dropped there;
; 0x510 would hit QEMU's fw_cfg and 0x80 tsemu's POST port.
;
; Defines (nasm -D): PIO_COUNT (default 100000), PIO_PORT (default 0x0f0f).
; Expected serial output:
;   pio-bench: 100000 x out 0x00000f0f
;   pio-bench: done
; Exit: debug-exit 0x14, emulator status 41.
;
; Build: nasm -f bin -I test/guests/ [-DPIO_COUNT=n] [-DPIO_PORT=p] -o pio-bench.bin \
;        bench/guests/pio-bench.asm   (the shared lib/ lives under test/guests/)

%include "lib/multiboot.inc"
%include "lib/serial.inc"

%ifndef PIO_COUNT
%define PIO_COUNT 100000
%endif
%ifndef PIO_PORT
%define PIO_PORT 0x0f0f
%endif
%if PIO_COUNT < 1 || PIO_COUNT > 0xffffffff
%error PIO_COUNT must be between 1 and 2^32-1
%endif
%if PIO_PORT < 0 || PIO_PORT > 0xffff
%error PIO_PORT must be a 16-bit port number
%endif

EXIT_OK         equ 0x14

main:
        call serial_init
        mov esi, msg_start
        call serial_puts
        mov eax, PIO_COUNT
        call serial_put_dec
        mov esi, msg_out
        call serial_puts
        mov eax, PIO_PORT
        call serial_put_hex32
        mov esi, msg_crlf
        call serial_puts

        cli
        mov ecx, PIO_COUNT
        mov dx, PIO_PORT
        xor eax, eax
.loop:
        out dx, al
        dec ecx
        jnz .loop

        mov esi, msg_done
        call serial_puts
        DEBUG_EXIT EXIT_OK

msg_start:      db `pio-bench: `, 0
msg_out:        db ` x out `, 0
msg_done:       db `pio-bench: done\r\n`, 0
msg_crlf:       db `\r\n`, 0

MULTIBOOT_IMAGE_END
